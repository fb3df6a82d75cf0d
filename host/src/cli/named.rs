//! Command-line values of the domain's [`Named`] enums: `--help` lists each name with its
//! description, and a wrong name is refused by clap with the list of right ones.

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};

use crate::named::Named;

/// The value parser of a [`Named`] enum.
pub fn named<T: Named + Clone>() -> impl TypedValueParser<Value = T> {
    PossibleValuesParser::new(T::VALUES.iter().map(|(_, name, help)| PossibleValue::new(*name).help(*help)))
        .try_map(|name| T::from_name(&name))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::data::DatasetName;

    #[derive(Debug, Parser)]
    struct Args {
        #[arg(long, value_parser = named::<DatasetName>())]
        dataset: DatasetName,
    }

    #[test]
    fn names_parse_and_wrong_ones_are_refused_with_the_list() {
        let args = Args::try_parse_from(["x", "--dataset", "fashion-mnist"]).expect("parses");
        assert_eq!(args.dataset, DatasetName::FashionMnist);
        let err = Args::try_parse_from(["x", "--dataset", "cifar"]).expect_err("unknown").to_string();
        assert!(err.contains("digits") && err.contains("fashion-mnist"), "{err}");
    }
}
