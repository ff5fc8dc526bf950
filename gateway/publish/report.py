"""Reports: the run quality report (OUT/report/index.html + metrics.json) and one anomaly report per
declarant (JSON + HTML), like the DSN chain's "bilan d'anomalies". Reports name people only by
pseudonym, and say in French what to correct."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from jinja2 import Environment, PackageLoader, select_autoescape

from gateway.faults import checkpoint
from gateway.parse.norm import catalogue
from gateway.publish import charts, drilldown
from gateway.storage import Writes, read_dataset, write_chunks, write_json
from gateway.values import NATURES_FR, percent, thousands

SCOPE_LABELS = {
    "FILE": "tout le fichier", "ENVOI": "tout l'envoi", "DECLARATION": "toute la déclaration",
    "PERSON": "les données de cette personne pour cette déclaration", "LINE": "les lignes citées",
    "RECORD": "cet enregistrement", "WARNING": "rien : simple avertissement",
}
UNKNOWN_DECLARANT = "inconnu"
TREND_RUNS = 12                    # runs of the history the run report's trend shows
# net-entreprises' words for what the DSN chain rejects and what it only reports.
BLOCKING_WORDS = {True: "Anomalie bloquante", False: "Anomalie non bloquante"}
QUARANTINE_ORDER = ("file", "first_line", "last_line", "rule_id", "quarantine_id")
FINDINGS = ("quarantine", "warnings")         # the datasets a declarant's report lists
DECLARANTS = "declarants"                   # staged: each report group's declarants and their figures
FIGURES = "figures"                          # staged: the run's figures per rule and nature
_env = Environment(loader=PackageLoader("gateway.publish", "templates"), autoescape=select_autoescape(["html", "j2"]))
# French number formats and labels of the reports' pages: 66,7 % and 44 495 (narrow no-break spaces), not 66.7 %.
_env.filters["pct"] = percent
_env.filters["nombre"] = thousands
VOLUME_LABELS = {"files": "fichiers", "declarations": "déclarations", "lines_read": "lignes lues",
                 "lines_used": "lignes retenues", "lines_ignored": "lignes sans ressource (ignorées)",
                 "lines_quarantined": "lignes écartées (quarantaine)", "quarantine_records": "enregistrements en quarantaine",
                 "resources": "ressources mensuelles", "warnings": "avertissements"}
KIND_LABELS = {"quarantine": "bloquant (donnée écartée)", "warning": "non bloquant (à vérifier)"}
_env.filters["stem"] = lambda declarant_id: report_stem(declarant_id or UNKNOWN_DECLARANT)
_env.filters["rule_page"] = lambda rule_id: drilldown.rule_page_name(rule_id) or ""
_env.filters["libelle"] = lambda code, table: {"volume": VOLUME_LABELS, "nature": NATURES_FR,
                                                "kind": KIND_LABELS}[table].get(code, code)


def _table(folder: Path) -> pa.Table | None:
    return read_dataset(folder)


class _Entries(list):
    """One declarant's rows of a table, turned into report entries batch by batch each time they are read:
    a declarant with 100,000 warnings is written without holding 100,000 entries (json and Jinja both
    only need len() and iteration)."""

    def __init__(self, table: pa.Table | None) -> None:
        super().__init__()
        self._table = table

    def __len__(self) -> int:
        return self._table.num_rows if self._table is not None else 0

    def __iter__(self):
        if self._table is None:
            return
        for batch in self._table.to_batches(max_chunksize=2_000):
            yield from (_entry(row) for row in batch.to_pylist())


def _by_declarant(table: pa.Table | None) -> dict[str, pa.Table]:
    """Rows per declarant (unknown ones together), each in (file, first line, rule) order."""
    if table is None or not table.num_rows:
        return {}
    declarant = pc.fill_null(table.column("declarant_id"), UNKNOWN_DECLARANT)
    table = table.append_column("_declarant", declarant)
    table = table.take(pc.sort_indices(table, [("_declarant", "ascending"), ("file", "ascending"),
                                               ("first_line", "ascending"), ("rule_id", "ascending")]))
    out, start = {}, 0
    for run in pc.run_end_encode(table.column("_declarant")).chunks:
        for value, end in zip(run.values.to_pylist(), run.run_ends.to_pylist()):
            out[value] = table.slice(start, end - start).drop_columns(["_declarant"])
            start = end
    return out


def _rubric_label(rubric: str) -> str:
    if not rubric:
        return ""
    spec = catalogue("P26V01").rubrics.get(rubric) or catalogue("PASRAU").rubrics.get(rubric)
    return spec.name if spec else ""


def _to_correct(row: dict) -> str:
    """What the declarant does, in their words: which rubric of which employee, what was declared, what the
    norm expects."""
    where = f"la rubrique {row['rubric']}" if row["rubric"] else "la structure du fichier"
    if row.get("payroll_number"):
        where += f" du salarié de matricule {row['payroll_number']}"
    declared = f" : valeur déclarée « {row['declared_value']} »" if row.get("declared_value") is not None else ""
    expected = f", valeur attendue : {row['expected']}" if row.get("expected") else ""
    if row["severity"] == "WARNING":
        return f"Vérifier {where}{declared}{expected}. Aucune donnée n'a été écartée."
    return (f"Corriger {where} (ligne {row['line']} du fichier {drilldown.sent_name(row['file'])}){declared}"
            f"{expected}, puis transmettre une déclaration conforme : annule et remplace avant l'échéance, sinon "
            "régularisation dans la déclaration suivante.")


def _french_date(iso: str | None) -> str | None:
    return f"{iso[8:10]}/{iso[5:7]}/{iso[:4]}" if iso else None


def _entry(row: dict) -> dict:
    return {"rule_id": row["rule_id"], "severity": row["severity"], "scope": row["scope"],
            "blocking": BLOCKING_WORDS[row["severity"] != "WARNING"],
            "scope_label": SCOPE_LABELS.get(row["scope"], row["scope"]), "file": drilldown.sent_name(row["file"]),
            "first_line": row["first_line"], "last_line": row["last_line"], "line": row["line"],
            "rubric": row["rubric"], "rubric_label": _rubric_label(row["rubric"]), "explain": row["explain"],
            "detail": row["detail"], "person_key": row["person_key"], "declaration_id": row["declaration_id"],
            "declaration_date": _french_date(row.get("declaration_date")),
            "declared_value": row.get("declared_value"), "expected": row.get("expected"),
            "payroll_number": row.get("payroll_number"), "to_correct": _to_correct(row)}


def declarant_report(declarant_id: str, quarantine: pa.Table | None, warnings: pa.Table | None,
                     run_id: str) -> dict:
    """The report of one declarant from its own rows (see ``_by_declarant``)."""
    return {"declarant_id": declarant_id, "run_id": run_id,
            "anomalies": _Entries(quarantine), "warnings": _Entries(warnings)}


def report_stem(declarant_id: str) -> str:
    """The file name (without suffix) of a declarant's report, confined to its folder by construction: a SIRET
    or SIREN as itself, ``inconnu``, anything else (a value read from a file: ``../../x``, ``/etc``, NUL, markup,
    a thousand characters) as ``autre-`` + a digest of it. The report itself still names the value, escaped."""
    if declarant_id == UNKNOWN_DECLARANT or (declarant_id.isascii() and declarant_id.isdigit()
                                             and len(declarant_id) in (9, 14)):
        return declarant_id
    return "autre-" + hashlib.sha256(declarant_id.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def write_declarant_report(report: dict, folder: Path, writes: Writes | None = None) -> list[Path]:
    """A declarant's report (JSON and HTML) in ``folder``; ``writes``: the uploads of a group of them
    (``gateway.storage.Writes``), else written at once."""
    name = report_stem(report["declarant_id"])
    json_path, html_path = folder / f"{name}.json", folder / f"{name}.html"
    write = writes.write if writes is not None else write_chunks
    write(json_path, json.JSONEncoder(indent=2, sort_keys=True, ensure_ascii=False).iterencode(report), "\n")
    write(html_path, _env.get_template("declarant_report.html.j2").generate(r=report))
    return [json_path, html_path]


def write_reports(out: Path, manifest: dict, history: dict, metrics: dict) -> list[str]:
    """All reports of a run from its published datasets and metrics, in one process; returns the paths written
    (relative to out). A run writes its declarants' reports in its pipeline (``write_group_reports``): this is
    the reference they are tested against."""
    quarantine, warnings = _by_declarant(_table(out / "quarantine")), _by_declarant(_table(out / "warnings"))
    written: list[Path] = []
    anomalies = anomalies_by_declarant(history["anomalies"])
    for declarant_id in sorted(set(quarantine) | set(warnings) | set(metrics["by_declarant"])):
        report = declarant_report(declarant_id, quarantine.get(declarant_id), warnings.get(declarant_id),
                                  manifest["run_id"])
        report["history_anomalies"] = anomalies.get(declarant_id, [])
        written += write_declarant_report(report, out / "report" / "declarants")
    return sorted([*(str(path.relative_to(out)) for path in written),
                   *write_run_report(out, manifest, history, metrics)])


def anomalies_by_declarant(anomalies: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for anomaly in anomalies:
        out.setdefault(anomaly["declarant_id"], []).append(anomaly)
    return out


def report_group(declarant_id: str | None, groups: int) -> int:
    """The group a declarant's report is written in (one worker writes a group's reports)."""
    from gateway.publish.datasets import bucket_of
    return bucket_of(declarant_id or UNKNOWN_DECLARANT, groups)


def findings_folder(dataset: str, group: int) -> tuple[str, str]:
    """Where a report group's quarantine or warnings records are staged: (spill dataset, partition)."""
    return "reports", f"{dataset}/group={group:02d}"


def write_group_reports(staging: str, group: int, run_id: str, anomalies: dict[str, list[dict]]) -> int:
    """The reports of one group of declarants, by a worker, from what the run staged (``transforms.publish``):
    the group's declarants, and its quarantine records and warnings. Returns how many were written."""
    from gateway.publish.spill import SPILL, read_objects, read_records
    from gateway.storage import list_files, location
    from schemas.records import QUARANTINE

    def findings(dataset: str) -> dict[str, pa.Table]:
        paths = list_files(f"{staging}/{SPILL}/{'/'.join(findings_folder(dataset, group))}")
        return _by_declarant(read_records(paths, QUARANTINE, QUARANTINE_ORDER) if paths else None)
    quarantine, warnings = findings("quarantine"), findings("warnings")
    declarants = {declarant for path in list_files(f"{staging}/{SPILL}/{DECLARANTS}/group={group:02d}")
                  for declarant, _ in read_objects(path)}
    folder = location(f"{staging}/report/declarants")
    names = sorted(set(quarantine) | set(warnings) | declarants)
    with Writes(folder) as writes:
        for declarant_id in names:
            report = declarant_report(declarant_id, quarantine.get(declarant_id), warnings.get(declarant_id), run_id)
            report["history_anomalies"] = anomalies.get(declarant_id, [])
            write_declarant_report(report, folder, writes)
            checkpoint("declarant-reports")
    return len(names)


def write_run_report(out: Path, manifest: dict, history: dict, metrics: dict) -> list[str]:
    """The run quality report (index.html) and its metrics (metrics.json); returns their paths relative to out."""
    report_dir = out / "report"
    metrics = dict(metrics)
    metrics["history_sequence"] = history["sequence"]
    metrics["history_anomalies"] = history["anomalies"]
    trend = history.get("runs", [])             # the history's last runs up to this one (gateway.run)
    figures = {
        "lines": charts.stacked_lines(manifest["lines_used"], manifest["lines_ignored"], manifest["lines_quarantined"]),
        "rules": charts.bar_chart([r["rule_id"] for r in metrics["by_rule"][:15]],
                                  [r["records"] for r in metrics["by_rule"][:15]], title="Anomalies par règle",
                                  color="#a40000"),
        "declarants": charts.bar_chart([d["declarant_id"] for d in metrics["top_failing_declarants"]],
                                       [d["lines_quarantined"] for d in metrics["top_failing_declarants"]],
                                       title="Lignes écartées par déclarant", color="#ce5c00"),
        "trend": charts.trend_chart([str(r["sequence"]) for r in trend],
                                    {"quarantaine": [r["quarantine_rate"] or 0 for r in trend],
                                     "ressources flottantes": [r["floating_rate"] or 0 for r in trend]},
                                    title="Taux par exécution") if len(trend) > 1 else "",
        "natures": charts.bar_chart(list(metrics["resources_by_nature"]), list(metrics["resources_by_nature"].values()),
                                    title="Ressources par nature", color="#3465a4"),
    }
    found = drilldown.findings(out)
    metrics["by_rule"] = drilldown.pass_rates(metrics["by_rule"], found, {
        "files": manifest["files"], "declarations": manifest["declarations"], "declarants": len(metrics["by_declarant"])})
    write_json(report_dir / "metrics.json", metrics)
    checkpoint("reports")
    pages = []
    explain = {rule["rule_id"]: rule for rule in metrics["by_rule"]}
    with Writes(report_dir) as writes:
        for rule_id, (total, rows) in drilldown.rule_pages(found).items():
            name = drilldown.rule_page_name(rule_id)
            if name is not None:
                writes.write(report_dir / "rules" / name, _env.get_template("rule_page.html.j2").generate(
                    rule=explain.get(rule_id, {"rule_id": rule_id}), total=total, rows=rows,
                    run_id=manifest["run_id"], listed=drilldown.LISTED))
                pages.append(f"report/rules/{name}")
    write_chunks(report_dir / "index.html",
                 _env.get_template("run_report.html.j2").generate(m=metrics, manifest=manifest, charts=figures,
                                                                  trend=trend))
    return ["report/metrics.json", "report/index.html", *pages]


def regenerate_declarant_report(out: Path, declarant_id: str, target: Path, run_id: str, *,
                                pdf: bool = False) -> list[Path]:
    """``drm-gateway report declarant``: the report again, from the stored quarantine and warnings (and the
    same page as PDF)."""
    report = declarant_report(declarant_id, _by_declarant(_table(out / "quarantine")).get(declarant_id),
                              _by_declarant(_table(out / "warnings")).get(declarant_id), run_id)
    written = write_declarant_report(report, target)
    if pdf:
        html_path = written[-1]
        html_path.with_suffix(".pdf").write_bytes(as_pdf(html_path.read_text(encoding="utf-8")))
        written.append(html_path.with_suffix(".pdf"))
    return written


def as_pdf(html: str) -> bytes:
    """A report page as PDF (weasyprint: HTML and CSS to PDF, no browser). The page is our own template's
    output, every value in it escaped; it links to nothing outside, and nothing outside is fetched."""
    import weasyprint

    def refuse(url: str, *args, **kwargs) -> dict:
        raise ValueError(f"no external resource in a report page @ {url[:80]}")
    return weasyprint.HTML(string=html, url_fetcher=refuse).write_pdf()


def render_template(name: str, **values) -> str:
    """Render one of the package's HTML templates."""
    return _env.get_template(name).render(**values)
