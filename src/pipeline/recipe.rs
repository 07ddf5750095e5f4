//! Recipes: named sets of stage overlays over the stage defaults. `synthetic` is the stage
//! defaults themselves — the synthetic benchmark's validated settings (docs/pipeline.md);
//! `paper` is the LoFi paper's ActivityNet setting: TSM-ResNet-18, the official G-TAD widths
//! trained as G-TAD trains them (Adam 4e-3, weight decay 1e-4, batch 16, 10 epochs, ×0.1 after 5),
//! and the end-to-end stages with SGD lr 0.1, momentum 0, weight decay 1e-4, batch 16, ×0.5 every
//! 5 epochs, the paper's 4× reduction (T = 25×224², S = 100×112², ST = 50×158²).

use crate::train::config::Stage;
use crate::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Recipe {
    Synthetic,
    Paper,
}

const PAPER_HEAD: &str = r#"
model.head = "gtad-activitynet"
data = { batch = 16, epochs = 10 }
optim = { kind = "adam", lr = 0.004, weight_decay = 1e-4 }
schedule = { kind = "step", every_epochs = 5, gamma = 0.1 }
"#;

const PAPER_E2E: &str = r#"
model = { head = "gtad-activitynet", snippets_per_call = 100 }
data = { batch = 16, epochs = 10 }
optim = { kind = "sgd", lr = 0.1, encoder_lr = 0.1, momentum = 0.0, weight_decay = 1e-4, encoder_weight_decay = 1e-4 }
schedule = { kind = "step", every_epochs = 5, gamma = 0.5 }
lofi = { ratio = 4.0 }
"#;

const PAPER_ACP: &str = r#"
model.encoder = "resnet18"
"#;

impl Recipe {
    pub fn parse(text: &str) -> Result<Recipe> {
        match text {
            "synthetic" => Ok(Recipe::Synthetic),
            "paper" => Ok(Recipe::Paper),
            other => Err(Error::Config {
                flag: "--recipe".into(),
                msg: format!("unknown recipe '{other}' (synthetic, paper)"),
            }),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Recipe::Synthetic => "synthetic",
            Recipe::Paper => "paper",
        }
    }

    /// The recipe's overlay for `stage` (empty: the stage's defaults).
    pub fn overlay(self, stage: Stage) -> Result<toml::Table> {
        let text = match (self, stage) {
            (Recipe::Synthetic, _) => "",
            (Recipe::Paper, Stage::Head) => PAPER_HEAD,
            (Recipe::Paper, Stage::Lofi | Stage::E2eFull) => PAPER_E2E,
            (Recipe::Paper, Stage::Acp | Stage::AcpPlus) => PAPER_ACP,
        };
        toml::from_str(text).map_err(|e| Error::invalid("recipe", e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::config::TrainConfig;
    use std::path::Path;

    #[test]
    fn every_overlay_resolves_to_a_valid_config() {
        for recipe in [Recipe::Synthetic, Recipe::Paper] {
            for stage in Stage::ALL {
                let cfg = TrainConfig::from_table(stage, recipe.overlay(stage).unwrap(), Path::new("recipe")).unwrap();
                cfg.validate().unwrap();
            }
        }
        let e2e =
            TrainConfig::from_table(Stage::Lofi, Recipe::Paper.overlay(Stage::Lofi).unwrap(), Path::new("r")).unwrap();
        assert_eq!((e2e.optim.lr, e2e.data.batch, e2e.lofi.ratio), (0.1, 16, 4.0));
        assert!(Recipe::parse("imagenet").unwrap_err().to_string().contains("synthetic, paper"));
    }
}
