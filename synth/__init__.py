"""Offline synth: run the program under Pulumi's mock runtime, render and validate it."""

from pathlib import Path

# The project: the directory that holds synth/, components/, Pulumi.yaml and the stack files.
PROJECT_DIR = Path(__file__).resolve().parent.parent
