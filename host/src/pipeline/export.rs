//! The deployable models of a trained network: each partition exported to ONNX, with the
//! accuracy computed from the exported bytes by tract, and single modules exported alone for the
//! module archive.

use std::ops::Range;

use crate::data::Dataset;
use crate::netspec::{Partition, TrainedNet};
use crate::onnx::{
    ExportError, ExportOptions, RunError, TractRunner, architecture_hash, encode, export_layer_range, export_network,
    export_two_head,
};

/// One partition of a network, exported.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ExportedPartition {
    /// Which partition (0: the full network, 1: the early exit).
    pub partition: Partition,
    /// The ONNX file's bytes.
    pub onnx: Vec<u8>,
    /// The graph's architecture hash (ops, shapes and attributes; not the weights).
    pub arch_hash: String,
    /// Trainable parameters of this partition.
    pub params: usize,
    /// The fixed batch dimension of the file (1, except for measuring at the evolved batch
    /// size).
    pub batch: usize,
}

/// Why a partition could not be exported or run.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The exporter refused the network.
    #[error("export of partition {partition}: {source}")]
    Export {
        /// 0 or 1.
        partition: usize,
        /// What the exporter said.
        source: ExportError,
    },
    /// tract could not load or run the exported model.
    #[error("tract on partition {partition}: {source}")]
    Tract {
        /// 0 or 1.
        partition: usize,
        /// What tract said.
        source: RunError,
    },
}

/// Exports every partition of `net` with batch 1 (partition 0, then 1 if partitioned).
pub fn export_partitions(net: &TrainedNet) -> Result<Vec<ExportedPartition>, PipelineError> {
    export_partitions_at(net, 1)
}

/// Exports every partition of `net` with a fixed batch of `batch` samples.
pub fn export_partitions_at(net: &TrainedNet, batch: usize) -> Result<Vec<ExportedPartition>, PipelineError> {
    let mut out = Vec::new();
    for which in net.partitions() {
        let Some(part) = net.partition(which) else { continue };
        let proto = export_network(&part, ExportOptions { batch })
            .map_err(|source| PipelineError::Export { partition: which.index(), source })?;
        out.push(ExportedPartition {
            partition: which,
            arch_hash: architecture_hash(&proto),
            onnx: encode(&proto),
            params: part.spec().params(),
            batch,
        });
    }
    Ok(out)
}

/// The two-head network of `net` (both heads, shared layers once) with a fixed batch of
/// `batch`, labelled partition 0 (its main head).
pub fn export_two_head_at(net: &TrainedNet, batch: usize) -> Result<ExportedPartition, PipelineError> {
    let proto = export_two_head(net, ExportOptions { batch })
        .map_err(|source| PipelineError::Export { partition: 0, source })?;
    Ok(ExportedPartition {
        partition: Partition::Full,
        arch_hash: architecture_hash(&proto),
        onnx: encode(&proto),
        params: net.spec().params(),
        batch,
    })
}

impl ExportedPartition {
    /// Accuracy of this partition on `data`, computed by tract from the exported bytes.
    pub fn accuracy(&self, data: &Dataset) -> Result<f64, PipelineError> {
        onnx_accuracy(&self.onnx, data)
            .map_err(|source| PipelineError::Tract { partition: self.partition.index(), source })
    }

    /// This partition's accuracy on `data`, overall and per class, by tract.
    pub fn class_accuracy(&self, data: &Dataset) -> Result<ClassAccuracy, PipelineError> {
        onnx_class_accuracy(&self.onnx, data)
            .map_err(|source| PipelineError::Tract { partition: self.partition.index(), source })
    }
}

/// A run of layers exported alone, as the module archive measures it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ExportedModule {
    /// The ONNX file's bytes (batch 1, the module's real input shape).
    pub onnx: Vec<u8>,
    /// The graph's architecture hash.
    pub arch_hash: String,
}

/// Exports layers `range` of `net` alone.
pub fn export_module(net: &TrainedNet, range: Range<usize>) -> Result<ExportedModule, ExportError> {
    let proto = export_layer_range(net, range, ExportOptions::default())?;
    Ok(ExportedModule { arch_hash: architecture_hash(&proto), onnx: encode(&proto) })
}

/// Accuracy of an exported model (batch 1) on `data`, computed by tract.
pub fn onnx_accuracy(onnx: &[u8], data: &Dataset) -> Result<f64, RunError> {
    Ok(onnx_class_accuracy(onnx, data)?.overall)
}

/// Accuracy overall and per class (the share of each class's samples predicted right; `NaN`
/// for a class with no sample).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ClassAccuracy {
    /// Over all samples.
    pub overall: f64,
    /// Per class, index = label.
    pub per_class: Vec<f64>,
}

/// [`onnx_accuracy`] with the accuracy of each class.
pub fn onnx_class_accuracy(onnx: &[u8], data: &Dataset) -> Result<ClassAccuracy, RunError> {
    let runner = TractRunner::from_bytes(onnx)?;
    let classes = data.num_classes();
    let (mut right, mut seen) = (vec![0usize; classes], vec![0usize; classes]);
    for (index, &label) in data.labels().iter().enumerate() {
        let probabilities = runner.run(data.image(index))?;
        let predicted = probabilities.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map(|(class, _)| class);
        let label = usize::from(label);
        if label < classes {
            seen[label] += 1;
            right[label] += usize::from(predicted == Some(label));
        }
    }
    let total: usize = seen.iter().sum();
    let overall = right.iter().sum::<usize>() as f64 / total.max(1) as f64;
    let per_class =
        right.iter().zip(&seen).map(|(&r, &n)| if n == 0 { f64::NAN } else { r as f64 / n as f64 }).collect();
    Ok(ClassAccuracy { overall, per_class })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netspec::{LayerSpec, NetSpec, Shape, SpecRules};

    fn net(partition: Option<usize>) -> TrainedNet {
        let conv = LayerSpec::test_conv(3);
        let input = Shape::Image { channels: 1, height: 8, width: 8 };
        let spec = NetSpec::build(input, 4, &[conv.clone(), conv], partition, SpecRules::default()).expect("valid");
        TrainedNet::seeded(spec, 3)
    }

    #[test]
    fn one_file_per_partition_with_its_own_parameter_count() {
        let plain = export_partitions(&net(None)).expect("export");
        assert_eq!(plain.len(), 1);
        let split = export_partitions(&net(Some(0))).expect("export");
        assert_eq!(split.iter().map(|p| p.partition.index()).collect::<Vec<_>>(), [0, 1]);
        assert!(split[1].params < split[0].params, "partition 1 is the smaller model");
        assert_ne!(split[0].arch_hash, split[1].arch_hash);
        assert_eq!(plain[0].arch_hash, split[0].arch_hash, "partition 0 is the network without its extra head");
    }

    #[test]
    fn modules_export_with_their_real_input_shape() {
        let module = export_module(&net(None), 1..2).expect("module");
        let runner = TractRunner::from_bytes(&module.onnx).expect("tract loads");
        assert_eq!(runner.input_shape(), &[1, 3, 8, 8]);
        assert!(export_module(&net(None), 1..3).is_err());
    }
}
