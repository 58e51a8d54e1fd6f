"""Studies built on the ptycho stack."""
