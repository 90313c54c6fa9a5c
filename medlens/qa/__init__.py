"""Question answering: research questions over an abstract (yes / no / maybe), questions about the knowledge
graph, and questions over a user's own documents; every answer with its evidence. See docs/qa.md."""
