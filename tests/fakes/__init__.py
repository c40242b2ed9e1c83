"""Hand-written fakes shared by unit tests, one module per adapter Protocol owner.

- ``commands``: ``FakePublisher`` behind ``commands.publisher.CommandPublisher``.
- ``ingest``: ``FakeDirectory`` (``DeviceDirectory``), ``FakePoints`` (``PointSink``), ``FakeResults``
  (``ResultSink``) and ``FakeIngest`` (``composition.IngestRuntime``).
- ``clock``: ``SecondsClock``, an injectable float clock (limiters, budgets, WiFiDog decisions).

Fakes used by one test file only stay in that file; agent fakes live in tests/agent/fakes.py.
"""
