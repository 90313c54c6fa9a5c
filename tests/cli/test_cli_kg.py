import json
from pathlib import Path

from typer.testing import CliRunner

from medlens.cli.app import app

runner = CliRunner()
FIXTURES = Path(__file__).parents[1] / "fixtures" / "kg"


def test_cli_kg_build_from_csv_then_query(tmp_path: Path):
    out = tmp_path / "g.sqlite"
    r = runner.invoke(app, ["kg", "build", "--sources", "none", "-o", str(out),
                            "--csv-concepts", str(FIXTURES / "tiny_concepts.csv"),
                            "--csv-synonyms", str(FIXTURES / "tiny_synonyms.csv"),
                            "--csv-relations", str(FIXTURES / "tiny_relations.csv"), "--csv-source", "tiny"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["kg", "stats", "--kg", str(out), "--json"])
    assert json.loads(r.stdout)["sources"]["tiny"]["concepts"] == 30
    r = runner.invoke(app, ["kg", "concept", "T:D002", "--kg", str(out), "--json"])
    data = json.loads(r.stdout)
    assert data["name"] == "Type 2 diabetes mellitus" and data["parents"] == ["T:D001"]
    r = runner.invoke(app, ["kg", "search", "hart atack", "--kg", str(out), "--json"])
    assert json.loads(r.stdout)[0]["id"] == "T:D004"


def test_cli_kg_errors_are_clear(tmp_path: Path, tiny_kg_path: Path):
    r = runner.invoke(app, ["kg", "build", "--sources", "icd11", "-o", str(tmp_path / "x.sqlite")])
    assert r.exit_code == 2 and "unknown source(s) icd11" in r.output
    r = runner.invoke(app, ["kg", "concept", "T:NOPE", "--kg", str(tiny_kg_path)])
    assert r.exit_code == 2 and "not in the knowledge graph" in r.output
    r = runner.invoke(app, ["kg", "stats", "--kg", str(tmp_path / "missing.sqlite")])
    assert r.exit_code == 2 and "medlens kg build" in r.output


def test_kg_map_walks_to_mesh(tmp_path):
    from typer.testing import CliRunner

    from medlens.cli.app import app
    from medlens.kg.build import build_graph
    from medlens.kg.sources.csv_tables import read_csv_tables
    from tests.kg.conftest import KG_FIXTURES as f

    path = tmp_path / "ids.sqlite"
    build_graph(path, sources=(), abbreviations=False, extra=[
        read_csv_tables(f / "ids_mesh_concepts.csv", f / "ids_mesh_synonyms.csv", f / "ids_mesh_relations.csv", source="mesh"),
        read_csv_tables(f / "ids_drug_concepts.csv", f / "ids_drug_synonyms.csv", f / "ids_drug_relations.csv", source="drugs")])
    runner = CliRunner()
    result = runner.invoke(app, ["kg", "map", "DB00316", "--to", "mesh", "--kg", str(path), "--json"])
    assert result.exit_code == 0, result.output
    assert '"MESH:D000082"' in result.output and '"xref"' in result.output
    missing = runner.invoke(app, ["kg", "map", "DB00316", "--to", "icd10cm", "--kg", str(path)])
    assert missing.exit_code == 2 and "icd10cm" in missing.output
    bad = runner.invoke(app, ["analyze", "-", "--kg", str(path), "--no-model", "--prefer", "snomed"], input="chest pain")
    assert bad.exit_code == 2 and "snomed" in bad.output
