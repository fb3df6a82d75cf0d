//! Which layers of a child network can start from its parent's trained weights (Lamarckian
//! weight inheritance).
//!
//! A layer is inherited when the mutation left it unchanged: same kind, same hyper-parameters,
//! same input and output shapes (so every tensor has the same size and means the same thing).
//! Layers are matched in network order by a longest common subsequence of the two layer lists
//! ([`Lineage::between`]): an inserted, removed or DSGE-changed layer breaks the match at that
//! point only, and the unchanged layers before and after it still line up. A layer whose input
//! shape changed (because an earlier layer changed) does not match, so it starts fresh.
//!
//! The heads follow the layer they read: the output head is inherited when the last layer is
//! inherited (or both networks have no layer) and its input shape is the same; the extra head
//! when the layer at the partition point is inherited from the parent's partition-point layer.
//!
//! Deviation from DESIGN.md's "layer identity": identity is recovered from the two phenotypes
//! rather than carried as an id in the genome. Both agree except for a layer copied by
//! add-layer next to its source, where one of the two identical layers (the first in order)
//! inherits instead of the original only.

use super::{LayerNode, NetSpec, NetWeights};

/// For each child layer, the parent layer it starts from; and whether the heads are inherited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lineage {
    /// Index-aligned with the child's layers: `Some(parent index)` when inherited.
    pub layers: Vec<Option<usize>>,
    /// The main output head is inherited.
    pub output: bool,
    /// The extra head is inherited.
    pub extra_head: bool,
}

impl Lineage {
    /// Matches `child`'s layers to `parent`'s (see the module docs).
    pub fn between(parent: &NetSpec, child: &NetSpec) -> Lineage {
        let layers = common_subsequence(&parent.layers, &child.layers);
        let last_matches = match (parent.layers.len(), child.layers.len()) {
            (0, 0) => true,
            (0, _) | (_, 0) => false,
            (p, c) => layers[c - 1] == Some(p - 1),
        };
        let output = last_matches && parent.output == child.output;
        let extra_head = match (parent.partition_point, child.partition_point, &parent.extra_head, &child.extra_head) {
            (Some(pk), Some(ck), Some(ph), Some(ch)) => layers.get(ck).copied().flatten() == Some(pk) && ph == ch,
            _ => false,
        };
        Lineage { layers, output, extra_head }
    }

    /// The child network is the parent network: nothing to start fresh.
    pub fn is_complete(&self) -> bool {
        self.output && self.layers.iter().enumerate().all(|(i, p)| *p == Some(i))
    }

    /// Trainable parameters of `child` that are inherited.
    pub fn inherited_params(&self, child: &NetSpec) -> usize {
        let body: usize =
            child.layers.iter().zip(&self.layers).filter(|(_, p)| p.is_some()).map(|(n, _)| n.params()).sum();
        let output = if self.output { child.output.params() } else { 0 };
        let extra = match (&child.extra_head, self.extra_head) {
            (Some(head), true) => head.params(),
            _ => 0,
        };
        body + output + extra
    }

    /// `child`'s weights: the parent's tensors where inherited, `fresh`'s elsewhere.
    /// `parent` and `fresh` must fit the networks this lineage was computed between.
    pub fn merge(&self, parent: &NetWeights, fresh: NetWeights) -> NetWeights {
        let layers = fresh
            .layers
            .into_iter()
            .zip(&self.layers)
            .map(|(own, from)| from.and_then(|p| parent.layers.get(p).cloned()).unwrap_or(own))
            .collect();
        let output = if self.output { parent.output.clone() } else { fresh.output };
        let extra_head =
            if self.extra_head { parent.extra_head.clone().or(fresh.extra_head) } else { fresh.extra_head };
        NetWeights { layers, output, extra_head }
    }
}

/// Longest common subsequence of two layer lists (equal nodes), as a map from `b`'s indices to
/// `a`'s. Ties prefer the earliest match in `b`, so the result depends on the inputs only.
fn common_subsequence(a: &[LayerNode], b: &[LayerNode]) -> Vec<Option<usize>> {
    let (n, m) = (a.len(), b.len());
    // lengths[i][j]: LCS length of a[i..] and b[j..].
    let mut lengths = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lengths[i][j] =
                if a[i] == b[j] { lengths[i + 1][j + 1] + 1 } else { lengths[i + 1][j].max(lengths[i][j + 1]) };
        }
    }
    let mut matched = vec![None; m];
    let (mut i, mut j) = (0, 0);
    while i < n && j < m {
        if a[i] == b[j] {
            matched[j] = Some(i);
            i += 1;
            j += 1;
        } else if lengths[i + 1][j] >= lengths[i][j + 1] {
            i += 1;
        } else {
            j += 1;
        }
    }
    matched
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netspec::{Activation, LayerSpec, LayerWeights, Padding, PoolKind, Shape, SpecRules};

    fn conv(out_channels: usize) -> LayerSpec {
        LayerSpec::test_conv(out_channels)
    }

    fn pool() -> LayerSpec {
        LayerSpec::Pool { kind: PoolKind::Max, kernel: 2, stride: 2, padding: Padding::Valid }
    }

    fn dense(out_features: usize) -> LayerSpec {
        LayerSpec::Dense { out_features, activation: Activation::Relu, bias: true }
    }

    fn net(layers: &[LayerSpec], partition: Option<usize>) -> NetSpec {
        let input = Shape::Image { channels: 1, height: 8, width: 8 };
        NetSpec::build(input, 10, layers, partition, SpecRules::default()).expect("valid network")
    }

    #[test]
    fn the_same_network_inherits_everything() {
        let parent = net(&[conv(4), pool(), dense(16)], Some(1));
        let lineage = Lineage::between(&parent, &parent);
        assert!(lineage.is_complete() && lineage.extra_head);
        assert_eq!(lineage.inherited_params(&parent), parent.params());
    }

    #[test]
    fn an_inserted_layer_is_fresh_and_the_rest_line_up() {
        let parent = net(&[conv(4), pool(), dense(16)], None);
        // a batch norm after the conv keeps every shape: everything else is inherited
        let child = net(&[conv(4), LayerSpec::BatchNorm, pool(), dense(16)], None);
        let lineage = Lineage::between(&parent, &child);
        assert_eq!(lineage.layers, vec![Some(0), None, Some(1), Some(2)]);
        assert!(lineage.output);
        assert_eq!(lineage.inherited_params(&child), parent.params());
    }

    #[test]
    fn a_changed_layer_and_the_layers_reading_it_start_fresh() {
        let parent = net(&[conv(4), pool(), dense(16)], Some(2));
        // conv 4 → 6 channels: the dense layer's input grows; the pool has no weights but its
        // shapes change too; the output head still reads 16 features from a fresh layer
        let child = net(&[conv(6), pool(), dense(16)], Some(2));
        let lineage = Lineage::between(&parent, &child);
        assert_eq!(lineage.layers, vec![None, None, None]);
        assert!(!lineage.output && !lineage.extra_head);
        assert_eq!(lineage.inherited_params(&child), 0);
    }

    #[test]
    fn a_removed_layer_keeps_the_prefix() {
        let parent = net(&[conv(4), conv(8), pool(), dense(16)], None);
        let child = net(&[conv(4), pool(), dense(16)], None);
        let lineage = Lineage::between(&parent, &child);
        assert_eq!(lineage.layers, vec![Some(0), None, None]);
    }

    #[test]
    fn merge_takes_the_parents_tensors_where_inherited() {
        let parent = net(&[conv(4), pool(), dense(16)], None);
        let child = net(&[conv(4), LayerSpec::BatchNorm, pool(), dense(16)], None);
        let lineage = Lineage::between(&parent, &child);
        let (from, fresh) = (NetWeights::seeded(&parent, 1), NetWeights::seeded(&child, 2));
        let merged = lineage.merge(&from, fresh.clone());
        merged.check(&child).expect("merged weights fit the child");
        assert_eq!(merged.layers[0], from.layers[0]);
        assert_eq!(merged.layers[3], from.layers[2]);
        assert_eq!(merged.output, from.output);
        assert_eq!(merged.layers[1], fresh.layers[1]);
        assert!(matches!(merged.layers[1], LayerWeights::BatchNorm(_)));
    }
}
