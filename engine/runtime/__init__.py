"""What every actor of the engine runs on: settings, the timer service, the maps of live actors,
metrics, and the one Protocol of a socket the actors write to.

May import: ``frontdesk.core``.
"""
