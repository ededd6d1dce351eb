//! `git exp show`: a table of experiments with the params and metrics their commits record.

use std::process::ExitCode;

use exp_lib::git::CommitId;
use exp_lib::metrics::{self, cell_text, Record};
use exp_lib::resolve::{self, Experiment};
use serde_json::Value;

use super::{group_by_baseline, short, Global, Labeler, Selection};

/// Show experiments with the params and metrics their commits record.
///
/// Params come from params.yaml and the params files dvc.yaml stages name; metrics from
/// the metrics files dvc.yaml names. Each baseline comes first, then its experiments.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub selection: Selection,
    /// Print the rows as JSON.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print the rows as CSV.
    #[arg(long)]
    pub csv: bool,
}

/// One row of the table: a baseline or an experiment.
struct Row {
    /// The baseline's label, or `├── 1a2b3c4 [name]` for an experiment.
    label: String,
    commit: CommitId,
    baseline: CommitId,
    name: Option<String>,
    /// `baseline`, `branch_commit`, or `branch_base` for the last experiment of a baseline.
    kind: &'static str,
    seconds: Option<i64>,
    record: Record,
}

/// A column: metrics or params, file, flattened key, and the header shown.
struct Column {
    metric: bool,
    file: String,
    key: String,
    header: String,
}

/// Runs `git exp show`.
pub fn run(_global: &Global, args: &Args) -> anyhow::Result<ExitCode> {
    let project = super::open_project()?;
    let repo = project.repo();
    let labeler = Labeler::new(repo)?;
    let experiments = resolve::local_experiments(repo)?;

    let mut selected = args.selection.select(repo, &experiments)?;
    if args.selection.all_commits {
        super::list::sort_newest_baseline_first(repo, &mut selected);
    }
    let mut groups: Vec<(CommitId, Vec<&Experiment>)> = group_by_baseline(&selected);
    let wanted = if args.selection.all_commits {
        repo.head_commit()?.into_iter().collect()
    } else {
        args.selection.baselines(repo)?
    };
    for (index, baseline) in wanted.into_iter().enumerate() {
        if !groups.iter().any(|(id, _)| *id == baseline) {
            groups.insert(index.min(groups.len()), (baseline, Vec::new()));
        }
    }

    let mut rows = Vec::new();
    for (baseline, members) in &groups {
        let read = |commit: CommitId| -> anyhow::Result<(Option<i64>, Record)> {
            if !repo.has_object(&commit) {
                return Ok((None, Record::default()));
            }
            Ok((
                Some(repo.commit_seconds(commit)?),
                metrics::read(repo, project.cache(), commit)?,
            ))
        };
        let (seconds, record) = read(*baseline)?;
        rows.push(Row {
            label: labeler.label(baseline),
            commit: *baseline,
            baseline: *baseline,
            name: None,
            kind: "baseline",
            seconds,
            record,
        });
        for (index, experiment) in members.iter().enumerate() {
            let last = index + 1 == members.len();
            let (seconds, record) = read(experiment.tip)?;
            rows.push(Row {
                label: format!(
                    "{} {} [{}]",
                    if last { "└──" } else { "├──" },
                    short(&experiment.tip),
                    experiment.name()
                ),
                commit: experiment.tip,
                baseline: *baseline,
                name: Some(experiment.name().to_owned()),
                kind: if last { "branch_base" } else { "branch_commit" },
                seconds,
                record,
            });
        }
    }

    if args.json {
        print_json(&rows)?;
    } else {
        let columns = columns(&rows);
        if args.csv {
            print_csv(&rows, &columns);
        } else {
            print_table(&rows, &columns);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Collects the columns in order of first appearance: metrics first, then params. A key
/// found in several files of one kind is shown as `file:key`.
fn columns(rows: &[Row]) -> Vec<Column> {
    let mut columns: Vec<Column> = Vec::new();
    for metric in [true, false] {
        let start = columns.len();
        for row in rows {
            let files = if metric {
                &row.record.metrics
            } else {
                &row.record.params
            };
            for file in files {
                for (key, _) in file.values.iter().flatten() {
                    let known = columns[start..]
                        .iter()
                        .any(|c| c.file == file.path && c.key == *key);
                    if !known {
                        columns.push(Column {
                            metric,
                            file: file.path.clone(),
                            key: key.clone(),
                            header: key.clone(),
                        });
                    }
                }
            }
        }
        for index in start..columns.len() {
            let shared = columns[start..]
                .iter()
                .filter(|c| c.key == columns[index].key)
                .count()
                > 1;
            if shared {
                columns[index].header = format!("{}:{}", columns[index].file, columns[index].key);
            }
        }
    }
    columns
}

fn value<'a>(row: &'a Row, column: &Column) -> Option<&'a Value> {
    let files = if column.metric {
        &row.record.metrics
    } else {
        &row.record.params
    };
    files
        .iter()
        .find(|f| f.path == column.file)
        .and_then(|f| f.values.as_ref())
        .and_then(|values| values.iter().find(|(key, _)| *key == column.key))
        .map(|(_, value)| value)
}

fn print_table(rows: &[Row], columns: &[Column]) {
    let mut table: Vec<Vec<String>> = Vec::new();
    let mut header = vec!["Experiment".to_owned(), "Created".to_owned()];
    header.extend(columns.iter().map(|c| c.header.clone()));
    table.push(header);
    for row in rows {
        let mut cells = vec![
            row.label.clone(),
            row.seconds
                .map_or_else(|| "-".to_owned(), |s| metrics::format_created(s, false)),
        ];
        cells.extend(
            columns
                .iter()
                .map(|c| value(row, c).map_or_else(|| "-".to_owned(), cell_text)),
        );
        table.push(cells);
    }

    let mut widths = vec![0; table[0].len()];
    for cells in &table {
        for (width, cell) in widths.iter_mut().zip(cells) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let total = widths.iter().sum::<usize>() + 2 * (widths.len() - 1);
    let rule = "─".repeat(total);
    println!("{rule}");
    for (index, cells) in table.iter().enumerate() {
        let mut line = String::new();
        for (column, (cell, width)) in cells.iter().zip(&widths).enumerate() {
            if column > 0 {
                line.push_str("  ");
            }
            line.push_str(cell);
            line.push_str(&" ".repeat(width - cell.chars().count()));
        }
        println!("{}", line.trim_end());
        if index == 0 {
            println!("{rule}");
        }
    }
    println!("{rule}");
}

fn print_csv(rows: &[Row], columns: &[Column]) {
    let mut header = vec!["Experiment", "rev", "typ", "Created", "parent"]
        .into_iter()
        .map(str::to_owned)
        .collect::<Vec<_>>();
    header.extend(columns.iter().map(|c| c.header.clone()));
    println!("{}", csv_line(&header));
    for row in rows {
        let rev = match &row.name {
            Some(_) => short(&row.commit),
            None => row.label.clone(),
        };
        let parent = match &row.name {
            Some(_) => short(&row.baseline),
            None => String::new(),
        };
        let mut cells = vec![
            row.name.clone().unwrap_or_default(),
            rev,
            row.kind.to_owned(),
            row.seconds
                .map(|s| metrics::format_created(s, true))
                .unwrap_or_default(),
            parent,
        ];
        cells.extend(
            columns
                .iter()
                .map(|c| value(row, c).map(cell_text).unwrap_or_default()),
        );
        println!("{}", csv_line(&cells));
    }
}

fn csv_line(cells: &[String]) -> String {
    cells
        .iter()
        .map(|cell| {
            if cell.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", cell.replace('"', "\"\""))
            } else {
                cell.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn print_json(rows: &[Row]) -> anyhow::Result<()> {
    let files_json = |files: &[metrics::FileValues]| -> Value {
        let mut map = serde_json::Map::new();
        for file in files {
            let values = match &file.values {
                Some(values) => Value::Object(values.iter().cloned().collect()),
                None => Value::Null,
            };
            map.insert(file.path.clone(), values);
        }
        Value::Object(map)
    };
    let json: Vec<Value> = rows
        .iter()
        .map(|row| {
            serde_json::json!({
                "rev": row.commit.to_string(),
                "name": row.name,
                "baseline": row.baseline.to_string(),
                "label": if row.name.is_none() { Value::from(row.label.clone()) } else { Value::Null },
                "created": row.seconds.map(|s| metrics::format_created(s, true)),
                "metrics": files_json(&row.record.metrics),
                "params": files_json(&row.record.params),
            })
        })
        .collect();
    println!("{}", serde_json::to_string_pretty(&json)?);
    Ok(())
}
