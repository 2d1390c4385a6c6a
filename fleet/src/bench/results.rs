//! Samples from scenario runs, their medians, the budgets they are held to,
//! and the markdown and JSON files the suite writes.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::BenchError;

/// One figure from one run of a scenario.
#[derive(Debug, Clone)]
pub struct Sample {
    pub scenario: &'static str,
    /// What was measured, for example "ronda-agent RSS after 60 s".
    pub metric: String,
    pub unit: &'static str,
    pub value: f64,
    /// Why there is no value (then `value` is NaN and not counted as a run).
    pub missing: Option<String>,
}

impl Sample {
    pub fn new(
        scenario: &'static str,
        metric: impl Into<String>,
        unit: &'static str,
        value: f64,
    ) -> Sample {
        Sample {
            scenario,
            metric: metric.into(),
            unit,
            value,
            missing: None,
        }
    }

    /// A figure this run could not measure, and why: its row stays in the
    /// table, saying so, instead of vanishing.
    pub fn missing(
        scenario: &'static str,
        metric: impl Into<String>,
        unit: &'static str,
        why: impl Into<String>,
    ) -> Sample {
        Sample {
            missing: Some(why.into()),
            ..Sample::new(scenario, metric, unit, f64::NAN)
        }
    }
}

/// A budget: the metric must stay under (or over) `limit`.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub metric: &'static str,
    pub at_most: bool,
    pub limit: f64,
    pub text: &'static str,
}

/// The median of one metric over every run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Row {
    pub scenario: String,
    pub metric: String,
    pub unit: String,
    /// NaN (`null` in JSON) when no run measured it.
    #[serde(deserialize_with = "nan_if_null")]
    pub median: f64,
    pub runs: Vec<f64>,
    /// Why no run measured it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub met: Option<bool>,
    /// When this scenario was measured.
    pub measured: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Summary {
    pub machine: String,
    pub runs: usize,
    pub rows: Vec<Row>,
    /// Which resource limits each scenario, and what would raise it.
    pub limits: BTreeMap<String, String>,
}

impl Summary {
    /// Keep the rows of scenarios this run did not measure from an earlier
    /// results file, so that `--only` updates part of the table.
    pub fn merge_earlier(&mut self, earlier: Summary) {
        let measured: Vec<String> = self.rows.iter().map(|r| r.scenario.clone()).collect();
        let kept: Vec<Row> = earlier
            .rows
            .into_iter()
            .filter(|r| !measured.contains(&r.scenario))
            .collect();
        for (k, v) in earlier.limits {
            self.limits.entry(k).or_insert(v);
        }
        self.rows.extend(kept);
        self.rows.sort_by(|a, b| a.scenario.cmp(&b.scenario));
    }
}

pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Percentile `p` (0..=1) of sorted values, nearest rank.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (sorted.len() as f64 * p).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Fold samples from every run into rows, in the order they first appear.
pub fn rows(samples: &[Sample], budgets: &[Budget], measured: &str) -> Vec<Row> {
    let mut rows: Vec<Row> = Vec::new();
    for s in samples {
        match rows
            .iter_mut()
            .find(|r| r.scenario == s.scenario && r.metric == s.metric)
        {
            Some(r) => {
                if s.missing.is_none() {
                    r.runs.push(s.value);
                }
            }
            None => rows.push(Row {
                scenario: s.scenario.to_owned(),
                metric: s.metric.clone(),
                unit: s.unit.to_owned(),
                median: f64::NAN,
                runs: if s.missing.is_none() {
                    vec![s.value]
                } else {
                    Vec::new()
                },
                missing: s.missing.clone(),
                budget: None,
                met: None,
                measured: measured.to_owned(),
            }),
        }
    }
    for r in &mut rows {
        r.median = median(&r.runs);
        if r.runs.is_empty() {
            // Not measured: nothing to judge against a budget.
            continue;
        }
        r.missing = None;
        if let Some(b) = budgets.iter().find(|b| b.metric == r.metric) {
            r.budget = Some(b.text.to_owned());
            r.met = Some(if b.at_most {
                r.median <= b.limit
            } else {
                r.median >= b.limit
            });
        }
    }
    rows
}

/// serde_json writes NaN as `null`; read it back as NaN, so that a results
/// file with an unmeasured figure still merges with the next run's.
fn nan_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// A number as people read it: thousands separated, sensible decimals.
pub fn human(v: f64) -> String {
    if !v.is_finite() {
        return "–".to_owned();
    }
    let decimals = match v.abs() {
        a if a >= 100.0 => 0,
        a if a >= 10.0 => 1,
        a if a >= 0.1 => 2,
        _ => 4,
    };
    let text = format!("{v:.decimals$}");
    let (int, frac) = text
        .split_once('.')
        .map_or((text.as_str(), None), |(i, f)| (i, Some(f)));
    let (sign, digits) = int.strip_prefix('-').map_or(("", int), |d| ("-", d));
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    match frac {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

pub fn markdown(summary: &Summary) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# Ronda benchmark results\n");
    let _ = writeln!(
        md,
        "Machine: {}. Each figure is the median of {} runs (all runs in the last column). Written by `bench/run` (see [README.md](../README.md)); [results.json](results.json) has the same figures.\n",
        summary.machine, summary.runs
    );
    let mut scenario = "";
    for r in &summary.rows {
        if r.scenario != scenario {
            scenario = &r.scenario;
            let _ = writeln!(md, "\n## {scenario}\n\nMeasured {}.\n", r.measured);
            if let Some(limit) = summary.limits.get(scenario) {
                let _ = writeln!(md, "{limit}\n");
            }
            let _ = writeln!(md, "| metric | median | unit | budget | met | runs |");
            let _ = writeln!(md, "|---|---:|---|---|---|---|");
        }
        let runs: Vec<String> = r.runs.iter().map(|v| human(*v)).collect();
        let met = match r.met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "",
        };
        let median = match &r.missing {
            Some(why) if r.runs.is_empty() => why.clone(),
            _ => human(r.median),
        };
        let _ = writeln!(
            md,
            "| {} | {median} | {} | {} | {met} | {} |",
            r.metric,
            r.unit,
            r.budget.as_deref().unwrap_or(""),
            runs.join(", ")
        );
    }
    md
}

pub fn write(dir: &Path, summary: &mut Summary) -> Result<(), BenchError> {
    std::fs::create_dir_all(dir).map_err(|e| BenchError::io(dir, e))?;
    let earlier = std::fs::read_to_string(dir.join("results.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<Summary>(&t).ok());
    if let Some(earlier) = earlier {
        summary.merge_earlier(earlier);
    }
    let md = dir.join("RESULTS.md");
    std::fs::write(&md, markdown(summary)).map_err(|e| BenchError::io(&md, e))?;
    let json = dir.join("results.json");
    let text = serde_json::to_string_pretty(summary).unwrap_or_default();
    std::fs::write(&json, text).map_err(|e| BenchError::io(&json, e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
    }

    #[test]
    fn nearest_rank_percentile() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), 50.0);
        assert_eq!(percentile(&v, 0.99), 99.0);
        assert_eq!(percentile(&v, 1.0), 100.0);
    }

    #[test]
    fn budgets_judge_the_median_not_the_best_run() {
        let s = |v| Sample::new("ingest", "reports/s", "1/s", v);
        let budget = Budget {
            metric: "reports/s",
            at_most: false,
            limit: 20_000.0,
            text: "≥ 20,000",
        };
        let rows = rows(&[s(25_000.0), s(15_000.0), s(18_000.0)], &[budget], "now");
        assert_eq!(rows[0].median, 18_000.0);
        assert_eq!(rows[0].met, Some(false));
    }

    #[test]
    fn an_unmeasured_figure_says_why_and_survives_a_round_trip() {
        let samples = [
            Sample::new("ingest", "on SQLite", "reports/s", 15_000.0),
            Sample::missing(
                "ingest",
                "on PostgreSQL",
                "reports/s",
                "not measured: no PostgreSQL",
            ),
        ];
        let budget = Budget {
            metric: "on PostgreSQL",
            at_most: false,
            limit: 20_000.0,
            text: "≥ 20,000",
        };
        let summary = Summary {
            machine: "test".into(),
            runs: 1,
            rows: rows(&samples, &[budget], "now"),
            limits: BTreeMap::new(),
        };
        assert_eq!(
            summary.rows[1].met, None,
            "nothing measured, nothing judged"
        );
        let md = markdown(&summary);
        assert!(
            md.contains("| on PostgreSQL | not measured: no PostgreSQL | reports/s |"),
            "{md}"
        );
        let json = serde_json::to_string(&summary).unwrap();
        let back: Summary = serde_json::from_str(&json).unwrap();
        assert!(back.rows[1].median.is_nan());
        assert_eq!(
            back.rows[1].missing.as_deref(),
            Some("not measured: no PostgreSQL")
        );
    }

    #[test]
    fn numbers_are_grouped() {
        assert_eq!(human(21_345.6), "21,346");
        assert_eq!(human(1.5), "1.50");
        assert_eq!(human(-1234.0), "-1,234");
    }
}
