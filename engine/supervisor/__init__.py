"""The root of the engine: start-up in order, state rebuilt from the database, housekeeping tasks.

May import every package of the engine.
"""
