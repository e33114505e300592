//! Where the model trains: the CPU, a CUDA GPU, or whichever is there (`device` in the config,
//! `--device` on the command line; XGBoost's name and values, `gpu` accepted for `cuda`).

use super::cuda::{CudaError, CudaExecutor};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Mutex;

/// The device a model trains on. Both give the same trees up to the order of floating-point
/// additions in histogram sums (see `docs/model.md`, "CUDA backend").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Device {
    /// CUDA when a GPU can be used, the CPU otherwise; the choice and its reason are logged.
    Auto,
    /// The CPU, `threads` threads (XGBoost's default too).
    #[default]
    Cpu,
    /// The first CUDA GPU; an error when there is none.
    #[serde(alias = "gpu")]
    #[value(alias = "gpu")]
    Cuda,
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Device::Auto => "auto",
            Device::Cpu => "cpu",
            Device::Cuda => "cuda",
        })
    }
}

/// What a [`Device`] setting came to on this machine.
pub(crate) enum Backend {
    /// Train on the CPU.
    Cpu,
    /// Train on this GPU.
    Cuda(Box<CudaExecutor>),
}

impl Device {
    /// Opens the backend this setting asks for. `auto` never fails: without a usable GPU it
    /// falls back to the CPU. Its choice is logged when first made and whenever it changes, not
    /// at each training. `cuda` without a usable GPU is an error.
    pub(crate) fn open(self) -> Result<Backend, CudaError> {
        match self {
            Device::Cpu => Ok(Backend::Cpu),
            Device::Cuda => Ok(Backend::Cuda(Box::new(CudaExecutor::open()?))),
            Device::Auto => match CudaExecutor::open() {
                Ok(executor) => {
                    if auto_choice_changed(Device::Cuda) {
                        tracing::info!(device = "cuda", gpu = %executor.gpu_name(), "Model device auto: a CUDA GPU opened, training on it.");
                    }
                    Ok(Backend::Cuda(Box::new(executor)))
                }
                Err(reason) => {
                    if auto_choice_changed(Device::Cpu) {
                        tracing::info!(device = "cpu", %reason, "Model device auto: no usable CUDA GPU, training on the CPU.");
                    }
                    Ok(Backend::Cpu)
                }
            },
        }
    }

    /// The device trainings with this setting run on here: `auto` resolved by opening the
    /// GPU as a training would (and logging the choice), `cpu` and `cuda` as they are (a
    /// `cuda` setting without a usable GPU makes each training fail rather than fall back).
    pub fn in_use(self) -> Device {
        match self {
            Device::Auto => match self.open() {
                Ok(Backend::Cuda(_)) => Device::Cuda,
                Ok(Backend::Cpu) | Err(_) => Device::Cpu,
            },
            setting => setting,
        }
    }
}

/// The device `auto` came to last in this process, so that the choice is logged when it is
/// made or changes, not at every one of a backtest's or the service's trainings.
static LAST_AUTO_CHOICE: Mutex<Option<Device>> = Mutex::new(None);

/// Records `auto`'s choice; true when it differs from the last one (or is the first).
fn auto_choice_changed(choice: Device) -> bool {
    choice_changed(&LAST_AUTO_CHOICE, choice)
}

fn choice_changed(last: &Mutex<Option<Device>>, choice: Device) -> bool {
    let mut last = last.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    last.replace(choice) != Some(choice)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_xgboosts_and_gpu_means_cuda() {
        for (text, device) in
            [("\"auto\"", Device::Auto), ("\"cpu\"", Device::Cpu), ("\"cuda\"", Device::Cuda)]
        {
            assert_eq!(serde_json::from_str::<Device>(text).expect("known name"), device);
            assert_eq!(serde_json::to_string(&device).expect("serialises"), text);
            assert_eq!(format!("\"{device}\""), text);
        }
        assert_eq!(serde_json::from_str::<Device>("\"gpu\"").expect("alias"), Device::Cuda);
        assert!(serde_json::from_str::<Device>("\"tpu\"").is_err());
        assert_eq!(<Device as clap::ValueEnum>::from_str("gpu", true), Ok(Device::Cuda));
        assert_eq!(Device::default(), Device::Cpu);
    }

    #[test]
    fn auto_never_fails_and_cpu_always_opens() {
        assert!(matches!(Device::Cpu.open(), Ok(Backend::Cpu)));
        // With or without a GPU, `auto` gives a backend rather than an error or a panic.
        assert!(Device::Auto.open().is_ok());
    }

    #[test]
    fn a_choice_counts_as_changed_only_when_it_differs_from_the_last() {
        let last = Mutex::new(None);
        let seen: Vec<bool> = [Device::Cuda, Device::Cuda, Device::Cpu, Device::Cpu, Device::Cuda]
            .into_iter()
            .map(|choice| choice_changed(&last, choice))
            .collect();
        assert_eq!(seen, [true, false, true, false, true]);
    }

    #[test]
    fn auto_resolves_to_the_backend_it_opens() {
        let opened = match Device::Auto.open() {
            Ok(Backend::Cuda(_)) => Device::Cuda,
            _ => Device::Cpu,
        };
        assert_eq!(Device::Auto.in_use(), opened, "auto is never reported as itself");
        assert_eq!(Device::Cpu.in_use(), Device::Cpu);
        assert_eq!(Device::Cuda.in_use(), Device::Cuda);
    }
}
