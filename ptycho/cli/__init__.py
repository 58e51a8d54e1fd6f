"""The workflow's console scripts: ``ptycho-simulate``, ``ptycho-train``, ``ptycho-reconstruct``,
``ptycho-evaluate`` (README: "Reconstruct your own data").

Each reads and checks every input before it writes anything, fills its output directory
completely or not at all (``ptycho.files``), logs to stderr and to ``run.log``, and exits 2 with
one line naming the bad input (``_common``).
"""
