"""Evaluation: transition curves, crossings, fits and plots."""
