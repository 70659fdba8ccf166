"""The library the stages and commands share: configuration, errors, files, schemas, records, texts, rules,
renderers."""
