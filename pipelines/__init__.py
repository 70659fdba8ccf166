"""The stages that turn sources/ and records/ into the published data package (see dvc.yaml)."""
