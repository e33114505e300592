//! Feature importance as XGBoost reports it (`Booster.get_score`): per input, how many splits use
//! it (`weight`), their mean and total loss change (`gain`, `total_gain`) and the mean and total
//! hessian sum of the rows they split (`cover`, `total_cover`).

use super::Booster;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The importance of one input.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Importance {
    /// The input's name.
    pub feature: String,
    /// Splits on it.
    pub weight: u64,
    /// Mean loss change of those splits.
    pub gain: f64,
    /// Their total loss change.
    pub total_gain: f64,
    /// Mean hessian sum of the rows they split.
    pub cover: f64,
    /// Their total hessian sum.
    pub total_cover: f64,
}

/// The importance of every input a model splits on, most gain first.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Importances(pub Vec<Importance>);

impl Booster {
    /// The importance of each input the model splits on (inputs it never splits on are left
    /// out, as in XGBoost), by total gain, largest first.
    pub fn importance(&self) -> Importances {
        let names = self.feature_names();
        let mut per_input: Vec<(u64, f64, f64)> = vec![(0, 0.0, 0.0); names.len()];
        for node in self.forest().nodes().iter().filter(|node| !node.is_leaf()) {
            if let Some((weight, gain, cover)) = per_input.get_mut(node.feature as usize) {
                *weight += 1;
                *gain += f64::from(node.gain);
                *cover += f64::from(node.cover);
            }
        }
        let mut importances: Vec<Importance> = names
            .iter()
            .zip(per_input)
            .filter(|(_, (weight, _, _))| *weight > 0)
            .map(|(name, (weight, total_gain, total_cover))| Importance {
                feature: name.clone(),
                weight,
                gain: total_gain / weight as f64,
                total_gain,
                cover: total_cover / weight as f64,
                total_cover,
            })
            .collect();
        importances
            .sort_by(|a, b| b.total_gain.total_cmp(&a.total_gain).then_with(|| a.feature.cmp(&b.feature)));
        Importances(importances)
    }
}

impl fmt::Display for Importances {
    /// A table, one input per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "| input                | splits |   mean gain |  total gain | mean cover |")?;
        write!(f, "|----------------------|-------:|------------:|------------:|-----------:|")?;
        for i in &self.0 {
            write!(
                f,
                "\n| {:<20} | {:>6} | {:>11.4e} | {:>11.4e} | {:>10.1} |",
                i.feature, i.weight, i.gain, i.total_gain, i.cover
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::{Booster, BoosterParams, FeatureMatrix};

    #[test]
    fn splits_are_counted_and_their_gains_and_covers_averaged_per_input() {
        // y = 2x on input 0; input 1 is noise the trees should hardly use.
        let values: Vec<f32> = (0..200).flat_map(|i| [i as f32 / 10.0, ((i * 7) % 11) as f32]).collect();
        let targets: Vec<f32> = (0..200).map(|i| 2.0 * i as f32 / 10.0).collect();
        let matrix = FeatureMatrix::from_values(2, values).expect("two inputs");
        let params = BoosterParams { n_estimators: 5, max_depth: 2, threads: 1, ..BoosterParams::default() };
        let booster =
            Booster::fit(&matrix, &targets, &params).expect("trained").with_feature_names(&["x", "noise"]);
        let importances = booster.importance();
        let x = &importances.0[0];
        assert_eq!(x.feature, "x", "{importances:?}");
        // Squared error: every row has hessian 1, so the root of each tree covers all 200 rows.
        let splits = booster.forest().nodes().iter().filter(|n| !n.is_leaf() && n.feature == 0).count();
        assert_eq!(x.weight as usize, splits);
        assert!((x.total_gain - x.gain * x.weight as f64).abs() < 1e-6 * x.total_gain);
        assert!(x.cover > 0.0 && x.cover <= 200.0, "{x:?}");
        let roots: f64 = booster
            .forest()
            .roots()
            .iter()
            .map(|&r| f64::from(booster.forest().nodes()[r as usize].cover))
            .sum();
        assert_eq!(roots, 5.0 * 200.0);
        assert!(importances.to_string().contains("| x "));
    }
}
