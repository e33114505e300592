//! The kernels: CUDA C sources kept beside this file (`kernels/*.cu`), compiled at run time
//! by NVRTC, and the parameter list of each, which every launch is checked against.

/// One kernel file as NVRTC compiles it: `common.cuh` followed by the file.
#[derive(Clone, Copy, Debug)]
pub struct KernelSource {
    /// File name under `dataflow/model/src/cuda/kernels/`.
    pub file: &'static str,
    /// The full source handed to NVRTC.
    pub code: &'static str,
}

macro_rules! kernel_source {
    ($file:literal) => {
        KernelSource {
            file: $file,
            code: concat!(include_str!("kernels/common.cuh"), include_str!(concat!("kernels/", $file))),
        }
    };
}

/// Every kernel file.
pub const KERNEL_SOURCES: [KernelSource; 5] = [
    kernel_source!("gradients.cu"),
    kernel_source!("histogram.cu"),
    kernel_source!("split.cu"),
    kernel_source!("partition.cu"),
    kernel_source!("predict.cu"),
];

/// Kind of a kernel parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Param {
    /// A pointer to device memory.
    Buffer,
    /// `unsigned int`.
    U32,
    /// `float`.
    F32,
}

/// Every kernel the backend launches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// `gradients.cu`: g = prediction − target, h = 1.
    SquaredErrorGradients,
    /// `gradients.cu`: the f64 sums of a node's gradient pairs.
    SumGradients,
    /// `histogram.cu`: histograms, summed in shared memory first.
    BuildHistogramsShared,
    /// `histogram.cu`: histograms straight into global memory (too large for shared memory).
    BuildHistogramsGlobal,
    /// `histogram.cu`: sibling = parent − built child.
    SubtractHistograms,
    /// `split.cu`: best split per node and input.
    EvaluateSplits,
    /// `split.cu`: best split per node.
    PickBestSplits,
    /// `partition.cu`: stable partition of split nodes' rows.
    PartitionRows,
    /// `predict.cu`: adds a finished tree's leaves to the training rows' predictions.
    AddTreeOutputs,
    /// `predict.cu`: batch prediction of a forest over raw inputs.
    PredictForest,
}

impl Kernel {
    /// Every kernel.
    pub const ALL: [Kernel; 10] = [
        Kernel::SquaredErrorGradients,
        Kernel::SumGradients,
        Kernel::BuildHistogramsShared,
        Kernel::BuildHistogramsGlobal,
        Kernel::SubtractHistograms,
        Kernel::EvaluateSplits,
        Kernel::PickBestSplits,
        Kernel::PartitionRows,
        Kernel::AddTreeOutputs,
        Kernel::PredictForest,
    ];

    /// Its name in the source (`extern "C"`).
    pub fn name(self) -> &'static str {
        match self {
            Kernel::SquaredErrorGradients => "squared_error_gradients",
            Kernel::SumGradients => "sum_gradients",
            Kernel::BuildHistogramsShared => "build_histograms_shared",
            Kernel::BuildHistogramsGlobal => "build_histograms_global",
            Kernel::SubtractHistograms => "subtract_histograms",
            Kernel::EvaluateSplits => "evaluate_splits",
            Kernel::PickBestSplits => "pick_best_splits",
            Kernel::PartitionRows => "partition_rows",
            Kernel::AddTreeOutputs => "add_tree_outputs",
            Kernel::PredictForest => "predict_forest",
        }
    }

    /// The file it is defined in.
    pub fn source(self) -> &'static KernelSource {
        let file = match self {
            Kernel::SquaredErrorGradients | Kernel::SumGradients => 0,
            Kernel::BuildHistogramsShared | Kernel::BuildHistogramsGlobal | Kernel::SubtractHistograms => 1,
            Kernel::EvaluateSplits | Kernel::PickBestSplits => 2,
            Kernel::PartitionRows => 3,
            Kernel::AddTreeOutputs | Kernel::PredictForest => 4,
        };
        &KERNEL_SOURCES[file]
    }

    /// Its parameters, in order (as declared in its `.cu` file).
    pub fn params(self) -> &'static [Param] {
        use Param::{Buffer as B, F32, U32};
        match self {
            Kernel::SquaredErrorGradients => &[B, B, B, B, U32],
            Kernel::SumGradients => &[B, U32, B, B, B],
            Kernel::BuildHistogramsShared | Kernel::BuildHistogramsGlobal => {
                &[B, U32, B, U32, B, B, B, B, B, B, B]
            }
            Kernel::SubtractHistograms => &[B, B, B, B, B, U32, U32],
            Kernel::EvaluateSplits => &[B, U32, B, B, U32, B, U32, F32, F32, B],
            Kernel::PickBestSplits => &[B, U32, U32, B],
            Kernel::PartitionRows => &[B, U32, B, B, B, B, B, B, B, B],
            Kernel::AddTreeOutputs => &[B, U32, U32, B, B, B, B, B, B],
            Kernel::PredictForest => &[B, U32, U32, B, B, B, B, B, U32, F32, B],
        }
    }

    /// Checks that `args` match [`Kernel::params`] in number and kind.
    pub fn check_args(self, args: &[super::KernelArg]) -> Result<(), super::CudaError> {
        use super::KernelArg;
        let kinds: Vec<Param> = args
            .iter()
            .map(|arg| match arg {
                KernelArg::Buffer(_) => Param::Buffer,
                KernelArg::U32(_) => Param::U32,
                KernelArg::F32(_) => Param::F32,
            })
            .collect();
        if kinds == self.params() {
            Ok(())
        } else {
            Err(super::CudaError::BadArguments {
                kernel: self.name(),
                expected: format!("{:?}", self.params()),
                got: format!("{kinds:?}"),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kernel_is_defined_in_its_file_with_its_parameter_count() {
        for kernel in Kernel::ALL {
            let code = kernel.source().code;
            let signature = format!("extern \"C\" __global__ void {}(", kernel.name());
            let start = code
                .find(&signature)
                .unwrap_or_else(|| panic!("{} not in {}", kernel.name(), kernel.source().file));
            let params = &code[start + signature.len()..];
            let params = &params[..params.find(')').expect("a closing parenthesis")];
            assert_eq!(params.split(',').count(), kernel.params().len(), "{}", kernel.name());
            // Pointers are buffers, the rest are scalars.
            let pointers = params.split(',').filter(|p| p.contains('*')).count();
            let buffers = kernel.params().iter().filter(|p| **p == Param::Buffer).count();
            assert_eq!(pointers, buffers, "{}", kernel.name());
        }
        assert!(KERNEL_SOURCES.iter().all(|s| s.code.starts_with("// Definitions every kernel file uses.")));
    }
}
