"""A compatibility path: PtychoPINN's ``ptycho.workflows`` package (``components``)."""
