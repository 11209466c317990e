"""The ``meetbot`` command: the top of the tree, the only place that wires everything together
(and the simulator in, for the demo)."""
