"""Offline debugging tools: a JWT decoder, a timestamp converter, a cookie inspector.

Each is a function returning a report (plain data plus ``text()``), a widget in
:mod:`labserver.widgets`, and a command: ``python -m labserver decode|time|cookie``. None of them
sends anything anywhere: a live token never needs to be pasted into a website.
"""
