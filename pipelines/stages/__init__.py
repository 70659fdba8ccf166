"""The DVC stages, one module each (dvc.yaml runs `python -m pipelines.stages.<stage>`)."""
