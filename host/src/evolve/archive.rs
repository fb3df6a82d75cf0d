//! The module archive: every module evolution creates, measured alone on the board, and the
//! inverse-power roulette the reuse mutation draws from.
//!
//! As in the reference code the archive is global to a run, never pruned, and part of the
//! checkpoint. What goes in is an [`ArchivePolicy`]: by default each distinct final module of an
//! evaluated candidate, trained, measured with the input shape it really receives in its
//! network (a module whose measurement failed is kept, its history matters, but cannot be
//! drawn); under [`ArchivePolicy::Reference`], as the reference, every module state created by
//! initialisation and by each add-layer, remove-layer and DSGE mutation, duplicates included,
//! measured untrained alone on a 1×32×32 input, and only when it measured a positive power.

use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

/// Which modules enter the archive and how they are measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArchivePolicy {
    /// Each distinct final module of an evaluated candidate, trained, on its real input.
    #[default]
    Final,
    /// Every module state after initialisation and each module mutation, duplicates kept,
    /// untrained on a 1×32×32 input (the reference code).
    Reference,
}

impl crate::named::Named for ArchivePolicy {
    const KIND: &'static str = "archive policy";
    const VALUES: &'static [(Self, &'static str, &'static str)] = &[
        (Self::Final, "final", "each distinct final module, trained, on its real input"),
        (Self::Reference, "reference", "every intermediate module state, duplicates kept, untrained on 1×32×32"),
    ];
}
crate::named::named_enum_text!(ArchivePolicy);

/// One archived module and what it cost on the board.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArchivedModule<M> {
    /// The module's genotype.
    pub module: M,
    /// Generation in which it was first seen.
    pub generation: usize,
    /// Mean board power while it ran alone, watts; `None` when it could not be measured.
    pub power_w: Option<f64>,
    /// Total energy per inference while it ran alone, joules.
    pub energy_j: Option<f64>,
    /// Architecture hash of its exported graph (modules with equal hashes are measured once).
    pub arch_hash: String,
}

/// All modules seen in a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModuleArchive<M> {
    entries: Vec<ArchivedModule<M>>,
}

impl<M> Default for ModuleArchive<M> {
    fn default() -> Self {
        Self { entries: Vec::new() }
    }
}

impl<M> ModuleArchive<M> {
    /// An empty archive.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a module.
    pub fn push(&mut self, entry: ArchivedModule<M>) {
        self.entries.push(entry);
    }

    /// All entries, oldest first.
    pub fn entries(&self) -> &[ArchivedModule<M>] {
        &self.entries
    }

    /// True when an entry with this architecture hash exists.
    pub fn contains_arch(&self, arch_hash: &str) -> bool {
        self.entries.iter().any(|e| e.arch_hash == arch_hash)
    }

    /// Selection probability of each entry: `p_j = (1/P_j) / Σ_i 1/P_i` over the entries with a
    /// positive measured power; 0 for the others.
    pub fn probabilities(&self) -> Vec<f64> {
        let inverse: Vec<f64> = self
            .entries
            .iter()
            .map(|e| e.power_w.filter(|p| *p > 0.0 && p.is_finite()).map_or(0.0, |p| 1.0 / p))
            .collect();
        let sum: f64 = inverse.iter().sum();
        if sum <= 0.0 {
            return vec![0.0; inverse.len()];
        }
        inverse.iter().map(|w| w / sum).collect()
    }

    /// Draws one entry by inverse-power roulette; `None` when no entry has a measured power.
    pub fn pick<R: Rng + ?Sized>(&self, rng: &mut R) -> Option<&ArchivedModule<M>> {
        let probabilities = self.probabilities();
        if probabilities.iter().all(|p| *p == 0.0) {
            return None;
        }
        let mut target: f64 = rng.random::<f64>();
        for (entry, p) in self.entries.iter().zip(&probabilities) {
            if *p > 0.0 && target < *p {
                return Some(entry);
            }
            target -= p;
        }
        // Rounding left a sliver past the last entry: take the last drawable one.
        self.entries.iter().zip(&probabilities).rev().find(|(_, p)| **p > 0.0).map(|(e, _)| e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn entry(name: &'static str, power_w: Option<f64>) -> ArchivedModule<&'static str> {
        ArchivedModule { module: name, generation: 0, power_w, energy_j: None, arch_hash: name.to_owned() }
    }

    #[test]
    fn roulette_frequencies_follow_inverse_power() {
        let mut archive = ModuleArchive::new();
        for (name, power) in [("a", 1.0), ("b", 2.0), ("c", 4.0), ("d", 8.0)] {
            archive.push(entry(name, Some(power)));
        }
        archive.push(entry("unmeasured", None));
        let expected = archive.probabilities();
        assert!((expected[0] - 8.0 / 15.0).abs() < 1e-12);
        assert_eq!(expected[4], 0.0);
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let draws = 100_000;
        let mut counts = [0usize; 5];
        for _ in 0..draws {
            let picked = archive.pick(&mut rng).expect("drawable");
            let index = archive.entries().iter().position(|e| e.module == picked.module).expect("from archive");
            counts[index] += 1;
        }
        for (count, p) in counts.iter().zip(&expected) {
            let mean = p * draws as f64;
            let sigma = (draws as f64 * p * (1.0 - p)).sqrt();
            assert!((*count as f64 - mean).abs() <= 4.0 * sigma + 1e-9, "count {count}, expected {mean} ± {sigma}");
        }
    }

    #[test]
    fn nothing_to_draw_without_measurements() {
        let mut archive = ModuleArchive::new();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        assert!(archive.pick(&mut rng).is_none());
        archive.push(entry("x", None));
        archive.push(entry("y", Some(0.0)));
        assert!(archive.pick(&mut rng).is_none());
        assert!(archive.contains_arch("x"));
    }
}
