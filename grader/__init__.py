"""The grader: checks each exercise against the reference and reports what is wrong.

`grader.pool` runs student code in separate, limited processes (`grader.worker`), sandboxed by
`grader.sandbox`. `grader.catalog` declares the exercises and their checks, `grader.grading`
compares student results with the reference in this trusted process, and `grader.report` turns
the verdicts into text or JSON. `python -m grader --help` lists the exercises.
"""
