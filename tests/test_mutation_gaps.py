"""Tests the second mutation run of tools/mutation.py taught us (docs/testing.md, "Mutation testing"): each pins
a behaviour that a one-line slip in the generator broke without any other test failing."""
