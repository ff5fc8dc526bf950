"""Build the project's norm catalogue (schemas/norm/*.json) from the public dictionaries.

Run by a developer when a new norm year is published, never at run time:

    python tools/build_norm_catalogue.py ../shared/samples schemas/norm

It keeps only the structural facts the gateway needs (rubric id, short label, datatype
regex/lengths/enumeration, block parent and cardinality, blocks present per nature) in the
project's own JSON layout; long descriptions and control texts are not carried over.

Sources (see shared/FORMAT.md §0, §11):
- P24V01: official net-entreprises CT2024 workbook (as CSV sheets);
- P25V01, P26V01: community YAML dictionaries; rubric sets and enumerations are taken from
  them, datatypes (regex, lengths) from P24V01 where the rubric already existed;
- PASRAU: official PASRAU 2017.6 dictionary (nature 11) plus the nature-14 blocks seen in
  third-party code (FORMAT.md §8), marked ``unverified``.
"""
from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import yaml

ENVOI_ROOTS = {
    "S10.G00.00": {"name": "Envoi", "parent": None, "min": 1, "max": 1, "order": 1},
    "S20.G00.05": {"name": "Déclaration", "parent": None, "min": 1, "max": None, "order": 2},
    "S90.G00.90": {"name": "Total de l'envoi", "parent": None, "min": 1, "max": 1, "order": 3},
}

# Platform tracking blocks carried by redistributed files (FORMAT.md §1.2, PEXSD, ONS).
PLATFORM_BLOCKS = {
    "S10.G00.95": {"name": "Suivi plateforme de l'envoi", "parent": "S10.G00.00", "min": 0, "max": 1},
    "S20.G00.96": {"name": "Suivi plateforme de la déclaration", "parent": "S20.G00.05", "min": 0, "max": 1},
}
PLATFORM_RUBRICS = {
    "S10.G00.95.001": "Nom du déclarant",
    "S10.G00.95.002": "Prénom du déclarant",
    "S10.G00.95.003": "SIRET du déclarant",
    "S10.G00.95.004": "Réservé plateforme",
    "S10.G00.95.005": "Réservé plateforme",
    "S10.G00.95.006": "Mode de dépôt",
    "S10.G00.95.007": "Site de dépôt",
    "S10.G00.95.008": "Horodatage du dépôt",
    "S10.G00.95.009": "Raison sociale",
    "S10.G00.95.010": "Identifiant du flux annulé et remplacé",
    "S10.G00.95.900": "Identifiant du flux",
    "S10.G00.95.901": "Adresse mél",
    "S20.G00.96.010": "Identifiant de la DSN annulée et remplacée",
    "S20.G00.96.902": "Identifiant de la DSN dans le flux",
    "S21.G00.06.903": "Raison sociale (plateforme)",
    "S21.G00.11.904": "Enseigne (plateforme)",
}
PLATFORM_DATATYPE = {"nature": "Alphanumeric", "regex": None, "min": 1, "max": 255, "values": None}

# Lot envelope V01R02 (FORMAT.md §1.2, ONY-LOT): recognised, never validated beyond syntax.
ENVELOPE_BLOCKS = ["S05.G51.00", "S06.G51.00", "S95.G51.00", "S96.G51.00"]

# PASRAU nature 14 blocks seen in third-party code only (FORMAT.md §8, [UNVERIFIED]).
PASRAU_N14_BLOCKS = {
    "S21.G00.47": {"name": "Droit", "parent": "S21.G00.30", "min": 0, "max": None},
    "S21.G00.51": {"name": "Rémunération", "parent": "S21.G00.50", "min": 0, "max": None},
    "S21.G00.57": {"name": "Précision de classe de revenu", "parent": "S21.G00.56", "min": 0, "max": None},
    "S21.G00.81": {"name": "Cotisation", "parent": "S21.G00.50", "min": 0, "max": None},
    "S21.G00.58": {"name": "Elément de revenu calculé en net", "parent": "S21.G00.50", "min": 0, "max": None},
}
AMOUNT_SIGNED = {"nature": "Numeric", "regex": r"-?[0]*(0|[1-9][0-9]*)\.[0-9]{2}", "min": 4, "max": 12, "values": None}
DATE_20 = {"nature": "Date", "regex": r"(0[1-9]|[1-2][0-9]|3[0-1])(0[1-9]|1[0-2])(20)[0-9]{2}", "min": 8, "max": 8, "values": None}
PASRAU_N14_RUBRICS = {
    "S21.G00.47.001": ("Identifiant interne du droit", {"nature": "Alphanumeric", "regex": None, "min": 1, "max": 30, "values": None}),
    "S21.G00.47.002": ("Identifiant du droit", {"nature": "Alphanumeric", "regex": None, "min": 1, "max": 30, "values": None}),
    "S21.G00.50.014": ("Classe de revenu", {"nature": "Alphanumeric", "regex": "[0-9]{2,3}", "min": 2, "max": 3, "values": None}),
    "S21.G00.50.019": ("Montant de la retenue à la source", AMOUNT_SIGNED),
    "S21.G00.51.001": ("Date de début de la période de rattachement", DATE_20),
    "S21.G00.51.002": ("Date de fin de la période de rattachement", DATE_20),
    "S21.G00.51.010": ("Identifiant du droit", {"nature": "Alphanumeric", "regex": None, "min": 1, "max": 30, "values": None}),
    "S21.G00.51.013": ("Montant brut", AMOUNT_SIGNED),
    "S21.G00.56.011": ("Classe de revenu du mois de l'erreur", {"nature": "Alphanumeric", "regex": "[0-9]{2,3}", "min": 2, "max": 3, "values": None}),
    "S21.G00.57.001": ("Code précision de classe de revenu", {"nature": "Alphanumeric", "regex": None, "min": 1, "max": 3, "values": None}),
    "S21.G00.57.002": ("Montant", AMOUNT_SIGNED),
    "S21.G00.81.001": ("Code de cotisation", {"nature": "Alphanumeric", "regex": None, "min": 3, "max": 3, "values": None}),
    "S21.G00.81.002": ("Identifiant organisme", {"nature": "Alphanumeric", "regex": None, "min": 1, "max": 50, "values": None}),
    "S21.G00.81.003": ("Montant d'assiette", AMOUNT_SIGNED),
    "S21.G00.81.004": ("Montant de cotisation", AMOUNT_SIGNED),
    "S21.G00.58.001": ("Date de début de période de rattachement", DATE_20),
    "S21.G00.58.002": ("Date de fin de période de rattachement", DATE_20),
    "S21.G00.58.003": ("Type", {"nature": "Enumeration", "regex": None, "min": 2, "max": 2,
                                "values": {"03": "Montant net social"}}),
    "S21.G00.58.004": ("Montant", AMOUNT_SIGNED),
    "S21.G00.81.007": ("Taux de cotisation", {"nature": "Numeric", "regex": r"[0-9]{1,3}\.[0-9]{2,3}", "min": 4, "max": 7, "values": None}),
}
PASRAU_NATURE_14 = {"14": "Message mensuel des revenus autres"}


def _int(value: str) -> int | None:
    value = (value or "").strip()
    if value in ("", "*"):
        return None
    return int(value)


def _values(text: str) -> dict[str, str] | None:
    text = (text or "").strip()
    if not text:
        return None
    out: dict[str, str] = {}
    for item in text.split(";"):
        code, _, label = item.partition("=")
        out[code.strip()] = label.strip()[:120]
    return out


def _datatype(nature: str, regex: str, lo: str, hi: str, values: str) -> dict:
    return {"nature": nature, "regex": (regex or None), "min": _int(lo), "max": _int(hi), "values": _values(values)}


def _read_csv(path: Path, delimiter: str = ",") -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return [row for row in csv.DictReader(fh, delimiter=delimiter) if any((v or "").strip() for v in row.values())]


def build_p24(samples: Path) -> dict:
    prefix = "krisk78_DSN2CSV_dsn-datatypes-CT2024_"
    datatypes = {
        row["Id"]: _datatype(row["Nature"], row["Regexp"], row["Lg Min"], row["Lg Max"], row["Values"])
        for row in _read_csv(samples / f"{prefix}Data_Types.csv")
    }
    blocks = dict(ENVOI_ROOTS)
    for order, row in enumerate(_read_csv(samples / f"{prefix}Blocks.csv"), start=10):
        blocks[row["Id"]] = {
            "name": row["Name"].strip(),
            "parent": row["ParentId"] or None,
            "min": _int(row["lowerBound"]) or 0,
            "max": _int(row["upperBound"]),
            "order": order,       # position in the message tree (the workbook lists blocks in tree order)
        }
    rubrics = {
        f"{row['Block Id']}.{row['Id']}": {"name": row["Name"].strip(), "datatype": row["DataType Id"]}
        for row in _read_csv(samples / f"{prefix}Fields.csv")
    }
    return {"version": "P24V01", "family": "DSN", "datatypes": datatypes, "blocks": blocks, "rubrics": rubrics}


def _yaml_datatype(field: dict) -> dict:
    kind, length = field.get("type", "X"), int(field.get("length") or 255)
    options = field.get("options")
    values = {str(k): str(v).replace("\xa0", " ")[:120] for k, v in options.items()} if options else None
    if kind == "D":
        return dict(DATE_20)
    if kind == "N":
        return {"nature": "Numeric", "regex": None, "min": 1, "max": length, "values": values}
    return {"nature": "Enumeration" if values else "Alphanumeric", "regex": None, "min": 1, "max": length, "values": values}


def derive_from_yaml(base: dict, yaml_path: Path) -> dict:
    """A later norm year: rubric set and enumerations from the YAML, regexes from ``base``."""
    norm = yaml.safe_load(yaml_path.read_text(encoding="utf-8"))
    version = norm["version"]
    datatypes = dict(base["datatypes"])
    rubrics: dict[str, dict] = {}
    blocks = dict(ENVOI_ROOTS)
    for order, (block_id, segment) in enumerate(norm["segments"].items(), start=10):
        blocks[block_id] = base["blocks"].get(block_id) or {
            "name": segment.get("label") or segment.get("name"), "parent": None, "min": 0, "max": None,
            "order": 1000 + order}
        for rubric_id, field in segment.get("fields", {}).items():
            known = base["rubrics"].get(rubric_id)
            options = field.get("options")
            if known is None:
                dt_id = f"{rubric_id}@{version}"
                datatypes[dt_id] = _yaml_datatype(field)
            else:
                dt_id = known["datatype"]
                base_values = datatypes[dt_id]["values"]
                if options and base_values is not None and set(map(str, options)) != set(base_values):
                    new_id = f"{dt_id}@{version}"
                    datatypes[new_id] = dict(datatypes[dt_id], values={
                        str(k): str(v).replace("\xa0", " ")[:120] for k, v in options.items()})
                    dt_id = new_id
            rubrics[rubric_id] = {"name": (known or {}).get("name") or field.get("label", ""), "datatype": dt_id}
    _fill_parents(blocks, norm["natures"])
    used = {r["datatype"] for r in rubrics.values()}
    return {"version": version, "family": "DSN",
            "datatypes": {k: v for k, v in datatypes.items() if k in used},
            "blocks": blocks, "rubrics": rubrics, "natures": _natures(norm["natures"])}


def _fill_parents(blocks: dict, natures: dict) -> None:
    def walk(tree: dict, parent: str | None) -> None:
        for block_id, node in tree.items():
            if block_id in blocks and blocks[block_id]["parent"] is None and parent and block_id not in ENVOI_ROOTS:
                blocks[block_id] = dict(blocks[block_id], parent=parent)
            walk((node or {}).get("children", {}) if isinstance(node, dict) else {}, block_id)
    for nature in natures.values():
        walk(nature.get("map", {}), "S20.G00.05")


def _natures(natures: dict) -> dict:
    out = {}
    for code, nature in natures.items():
        present: list[str] = ["S20.G00.05"]

        def walk(tree: dict) -> None:
            for block_id, node in tree.items():
                present.append(block_id)
                walk((node or {}).get("children", {}) if isinstance(node, dict) else {})
        walk(nature.get("map", {}))
        out[str(code)] = {"label": nature.get("label", ""), "blocks": sorted(set(present))}
    return out


def build_pasrau(samples: Path) -> dict:
    prefix = "fatizch_tryton_PASRAU-tableau-categories-datatypes-2017.6_"
    datatypes = {
        row["Id"]: _datatype(row["Name"], row["Regexp"], row["Lg Min"], row["Lg Max"], row["Values"])
        for row in _read_csv(samples / f"{prefix}datatypes.csv", ";")
    }
    blocks = dict(ENVOI_ROOTS)
    for order, row in enumerate(_read_csv(samples / f"{prefix}blocks.csv", ";"), start=10):
        blocks[row["Id"]] = {"name": row["Name"].strip(), "parent": row["ParentId"] or None, "min": 0, "max": None,
                             "order": order}
    rubrics = {
        f"{row['Block Id']}.{row['Id']}": {"name": row["Name"].strip(), "datatype": row["DataType Id"]}
        for row in _read_csv(samples / f"{prefix}fields.csv", ";")
    }
    after = {"S21.G00.47": ("S21.G00.31", 0.5), "S21.G00.51": ("S21.G00.50", 0.5),
             "S21.G00.57": ("S21.G00.56", 0.5), "S21.G00.58": ("S21.G00.56", 0.6), "S21.G00.81": ("S21.G00.56", 0.7)}
    for block_id, block in PASRAU_N14_BLOCKS.items():
        anchor, offset = after[block_id]
        blocks.setdefault(block_id, dict(block, unverified=True, order=blocks[anchor]["order"] + offset))
    for rubric_id, (label, datatype) in PASRAU_N14_RUBRICS.items():
        dt_id = f"{rubric_id}@PASRAU14"
        datatypes[dt_id] = datatype
        rubrics[rubric_id] = {"name": label, "datatype": dt_id, "unverified": True}
    nature_dt = rubrics["S20.G00.05.001"]["datatype"]
    datatypes[nature_dt] = dict(datatypes[nature_dt], values={**(datatypes[nature_dt]["values"] or {}), **PASRAU_NATURE_14})
    return {"version": "PASRAU", "family": "PASRAU", "datatypes": datatypes, "blocks": blocks, "rubrics": rubrics}


def add_common(catalogue: dict, envelope: dict) -> dict:
    blocks, rubrics, datatypes = catalogue["blocks"], catalogue["rubrics"], catalogue["datatypes"]
    datatypes["Platform_Alphanumeric"] = PLATFORM_DATATYPE
    anchors = {"S10.G00.95": ("S10.G00.02", 0.5), "S20.G00.96": ("S21.G00.06", -0.5)}
    for block_id, block in PLATFORM_BLOCKS.items():
        anchor, offset = anchors[block_id]
        blocks.setdefault(block_id, dict(block, order=blocks[anchor]["order"] + offset))
    for rubric_id, label in PLATFORM_RUBRICS.items():
        rubrics.setdefault(rubric_id, {"name": label, "datatype": "Platform_Alphanumeric"})
    for block_id in ENVELOPE_BLOCKS:
        blocks[block_id] = {"name": envelope["segments"][block_id]["name"], "parent": None, "min": 0, "max": None,
                            "envelope": True, "order": 0}
        for rubric_id, field in envelope["segments"][block_id]["fields"].items():
            rubrics[rubric_id] = {"name": field["label"], "datatype": "Platform_Alphanumeric"}
    return catalogue


def main(samples: Path, out: Path) -> None:
    envelope = yaml.safe_load((samples / "Jikenlabs_open-neodes_norm-V01R02.yaml").read_text(encoding="utf-8"))
    p24 = build_p24(samples)
    p25 = derive_from_yaml(p24, samples / "Jikenlabs_open-neodes_norm-P25V01.yaml")
    p24["natures"] = _natures(yaml.safe_load(
        (samples / "Jikenlabs_open-neodes_norm-P24V01.yaml").read_text(encoding="utf-8"))["natures"])
    p26 = derive_from_yaml(p24, samples / "Jikenlabs_open-neodes_norm-P26V01.yaml")
    out.mkdir(parents=True, exist_ok=True)
    for catalogue in (p24, p25, p26, build_pasrau(samples)):
        add_common(catalogue, envelope)
        path = out / f"{catalogue['version']}.json"
        path.write_text(json.dumps(catalogue, ensure_ascii=False, sort_keys=True, indent=0) + "\n", encoding="utf-8")
        print(f"{path}: {len(catalogue['blocks'])} blocks, {len(catalogue['rubrics'])} rubrics, "
              f"{len(catalogue['datatypes'])} datatypes")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
