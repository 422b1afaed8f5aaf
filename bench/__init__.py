"""vif benchmark suite: every benchmark on every event loop, each in a fresh process.

Run it with ``python -m bench`` (see ``bench/README.md``).  The package layout:

* ``registry``   - the ``@benchmark`` decorator and the benchmark catalogue;
* ``benchmarks`` - one module per family of benchmarks (loop, echo, ...);
* ``impls``      - the event-loop implementations and how to create their loops;
* ``child``      - the entry point of the child process that runs one measurement;
* ``runner``     - the parent side: rounds, rotation, subprocesses, timeouts;
* ``floor``      - the C epoll echo that gives the physical floor;
* ``machine``    - machine, Python and peer-version facts for the report;
* ``report``     - statistics, the text / Markdown tables and the JSON document;
* ``chart``      - the matplotlib bar chart;
* ``cli``        - the command line.
"""
