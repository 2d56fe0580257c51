"""``pstem``: the partialstem command line, one module per command group.

:mod:`pstem.app` is the entry point (``main``); :mod:`pstem.scan` (paths, specimens, simulate,
presets, speed), :mod:`pstem.complete`, :mod:`pstem.train` (train-gan, train-rl),
:mod:`pstem.bench` (bench, plot) and :mod:`pstem.evaluate` (eval completion, eval rl) each
add their subcommands; :mod:`pstem.options` builds options from config dataclasses. The
command line sits above every library layer and none of them imports it.
"""
