"""The network in time: key stores, applications drawing key, failures and satellite passes.

:func:`qnetemu.emulate.runner.run_emulation` is what ``qnetemu emulate``
calls; :class:`qnetemu.emulate.kernel.Emulator` is the simpy model that
``qnetemu serve`` also drives.
"""
