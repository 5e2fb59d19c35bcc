"""``frontdesk import-mail``: old e-mail threads (mbox files, ``.eml`` files, Maildir folders)
become resolved conversations of their customers (PROTOCOL.md §7, §14).

One job per module, in the order an import runs:

- ``sources.py``   finds what each path holds and reads its messages' bytes
- ``parsing.py``   one message's addresses, date, text and attachments (``email``, ``policy.default``);
                   ``html_text.py`` renders an HTML-only body as plain text
- ``threads.py``   groups the messages into threads and names each thread's customer (pure)
- ``files.py``     attachment bytes: staged while reading, kept under their attachment id when stored
- ``storing.py``   writes the threads in batches, one transaction per batch, adding nothing twice
- ``report.py``    the progress bar, the skipped messages and the summary
- ``command.py``   the command itself: runs the steps above and decides the exit status

The engine never runs this package: only ``engine/__main__.py`` imports it.

May import: ``storage``, ``runtime``, ``frontdesk.core``.
"""
