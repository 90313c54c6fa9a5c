"""What the document classifier reads of a note: section bodies, not headers and title block."""

import spacy

import medlens.components.sections  # noqa: F401  (registers the factory)
from medlens.components.classifier import classification_text


def _doc(text):
    nlp = spacy.blank("en")
    nlp.add_pipe("medlens_sections")
    return nlp(text)


def test_classifier_text_drops_title_block_and_headers():
    text = ("DISCHARGE SUMMARY\n\nPatient: [REDACTED]    MRN: [REDACTED]\n\nCHIEF COMPLAINT:\nChest pain.\n\n"
            "HOSPITAL COURSE:\nAdmitted for NSTEMI.\n")
    assert classification_text(_doc(text)) == "Chest pain.\nAdmitted for NSTEMI."


def test_classifier_text_keeps_text_without_sections():
    text = "Decalcification of a choroidal osteoma. A 56-year-old man presented with a tumour."
    assert classification_text(_doc(text)) == text


def test_classifier_text_keeps_a_long_opening_narrative():
    opening = "A 56-year-old man presented with a clearly defined orange tumour of the left eye. " * 5
    text = opening + "\nIMPRESSION:\nChoroidal osteoma."
    assert classification_text(_doc(text)) == opening.strip() + "\nChoroidal osteoma."
