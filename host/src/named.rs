//! Domain enums with a fixed set of names (datasets, search spaces, fitness presets): one table
//! per enum gives each value's name and a one-line description, from which parsing
//! ([`std::str::FromStr`]), printing ([`std::fmt::Display`]) and the command line's list of
//! possible values all follow. The domain stays free of any CLI crate.

/// An enum whose values are chosen by name in configs and on the command line.
pub trait Named: Copy + PartialEq + Send + Sync + 'static {
    /// What a value names (`dataset`, `search space`), for error messages.
    const KIND: &'static str;
    /// Every value, its name and a one-line description.
    const VALUES: &'static [(Self, &'static str, &'static str)];

    /// The value's name.
    fn name(self) -> &'static str {
        Self::VALUES.iter().find(|(value, ..)| *value == self).map_or("?", |(_, name, _)| name)
    }

    /// The value called `name`.
    fn from_name(name: &str) -> Result<Self, UnknownName> {
        Self::VALUES.iter().find(|(_, n, _)| *n == name).map(|(value, ..)| *value).ok_or_else(|| UnknownName {
            kind: Self::KIND,
            given: name.to_owned(),
            expected: Self::VALUES.iter().map(|(_, n, _)| *n).collect::<Vec<_>>().join(", "),
        })
    }
}

/// A name that is not one of an enum's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} `{given}`: expected one of {expected}")]
pub struct UnknownName {
    /// What was being named.
    pub kind: &'static str,
    /// The name given.
    pub given: String,
    /// The names that exist.
    pub expected: String,
}

/// `FromStr` and `Display` of a [`Named`] enum, through its table.
macro_rules! named_enum_text {
    ($ty:ty) => {
        impl std::str::FromStr for $ty {
            type Err = $crate::named::UnknownName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                <$ty as $crate::named::Named>::from_name(s)
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str($crate::named::Named::name(*self))
            }
        }
    };
}
pub(crate) use named_enum_text;

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Colour {
        Red,
        Blue,
    }

    impl Named for Colour {
        const KIND: &'static str = "colour";
        const VALUES: &'static [(Self, &'static str, &'static str)] =
            &[(Colour::Red, "red", "warm"), (Colour::Blue, "blue", "cold")];
    }
    named_enum_text!(Colour);

    #[test]
    fn names_round_trip_and_unknown_names_list_the_known_ones() {
        assert_eq!("blue".parse::<Colour>(), Ok(Colour::Blue));
        assert_eq!(Colour::Red.to_string(), "red");
        let err = "green".parse::<Colour>().expect_err("unknown");
        assert_eq!(err.to_string(), "unknown colour `green`: expected one of red, blue");
    }
}
