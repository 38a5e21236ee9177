"""Django implementations of the voice loop's and the agent's ports (bookings, call store)."""
