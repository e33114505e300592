//! A model in XGBoost's own JSON model format, so that Python's `xgboost` (3.x) loads it with
//! `xgboost.Booster(model_file=...)` and predicts what pricestream predicts.
//!
//! The trees map one to one: a split sends a row left when its input is below the threshold,
//! a missing input follows `default_left`, and a leaf's output sits in `split_conditions`, as
//! XGBoost keeps them. Predictions add the leaves to the base score in `f32`, tree by tree, in
//! both. Each split's loss change and each node's hessian sum are written as XGBoost's
//! `loss_changes` and `sum_hessian`, so its `get_score` importances read what
//! [`Booster::importance`] reports.

use crate::Booster;
use serde_json::{Value, json};

/// Marks the root's missing parent, as XGBoost does.
const NO_PARENT: i64 = i32::MAX as i64;

impl Booster {
    /// The model as an XGBoost JSON model document (`reg:squarederror`).
    pub fn to_xgboost_json(&self) -> Value {
        let forest = self.forest();
        let (nodes, roots) = (forest.nodes(), forest.roots());
        let n_features = self.feature_names().len();
        let trees: Vec<Value> = roots
            .iter()
            .enumerate()
            .map(|(id, &root)| {
                let end = roots.get(id + 1).map_or(nodes.len(), |&next| next as usize);
                let base = root as usize;
                let tree = &nodes[base..end];
                let n = tree.len();
                let (mut left, mut right, mut parents) = (vec![-1_i64; n], vec![-1_i64; n], vec![NO_PARENT; n]);
                for (i, node) in tree.iter().enumerate().filter(|(_, node)| !node.is_leaf()) {
                    let l = node.left as usize - base;
                    (left[i], right[i]) = (l as i64, l as i64 + 1);
                    (parents[l], parents[l + 1]) = (i as i64, i as i64);
                }
                let conditions: Vec<f32> = tree.iter().map(|node| node.value).collect();
                let leaf_values: Vec<f32> =
                    tree.iter().map(|node| if node.is_leaf() { node.value } else { 0.0 }).collect();
                json!({
                    "base_weights": leaf_values,
                    "categories": [],
                    "categories_nodes": [],
                    "categories_segments": [],
                    "categories_sizes": [],
                    "default_left": tree.iter().map(|node| i32::from(node.default_left)).collect::<Vec<_>>(),
                    "id": id,
                    "left_children": left,
                    "loss_changes": tree.iter().map(|node| node.gain).collect::<Vec<f32>>(),
                    "parents": parents,
                    "right_children": right,
                    "split_conditions": conditions,
                    "split_indices": tree.iter().map(|node| if node.is_leaf() { 0 } else { node.feature }).collect::<Vec<_>>(),
                    "split_type": vec![0; n],
                    "sum_hessian": tree.iter().map(|node| node.cover).collect::<Vec<f32>>(),
                    "tree_param": {
                        "num_deleted": "0",
                        "num_feature": n_features.to_string(),
                        "num_nodes": n.to_string(),
                        "size_leaf_vector": "1"
                    }
                })
            })
            .collect();
        let n_trees = trees.len();
        json!({
            "learner": {
                "attributes": {},
                "feature_names": self.feature_names(),
                "feature_types": vec!["float"; n_features],
                "gradient_booster": {
                    "model": {
                        "gbtree_model_param": { "num_parallel_tree": "1", "num_trees": n_trees.to_string() },
                        "iteration_indptr": (0..=n_trees).collect::<Vec<_>>(),
                        "tree_info": vec![0; n_trees],
                        "trees": trees
                    },
                    "name": "gbtree"
                },
                "learner_model_param": {
                    "base_score": format!("[{:E}]", self.base_score()),
                    "boost_from_average": "0",
                    "num_class": "0",
                    "num_feature": n_features.to_string(),
                    "num_target": "1"
                },
                "objective": { "name": "reg:squarederror", "reg_loss_param": { "scale_pos_weight": "1" } }
            },
            "version": [3, 2, 0]
        })
    }
}
