"""Training on several devices or machines.

``strategy`` chooses the ``tf.distribute`` strategy of a run; ``launch`` runs a multi-worker job as
local processes (``python -m ptycho.distributed.launch --workers N -- COMMAND ...``). Importing this
package imports nothing else, so the launcher starts without TensorFlow.
"""
