"""The lecture's worked example (document 004) through the library's own objects, with its errata."""
