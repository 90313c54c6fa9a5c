"""Readers and writers: text files, folders, stdin, JSONL."""
