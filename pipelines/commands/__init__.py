"""The commands of `python -m pipelines <command>` that are not stages: whole-pipeline runs, diff, release, publish,
docs, the portal's server."""
