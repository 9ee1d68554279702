"""Offline synth: run the program under Pulumi's mock runtime, render and validate it."""
