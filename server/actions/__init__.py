"""Domain verbs on plain values and a connection: check_* validate, do_* act."""
