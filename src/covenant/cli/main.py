"""The ``covenant`` command group and ``covenant check``: arguments in, library calls, renderers out.

Failures become exit codes in one place, ``exits.Monitor`` (the group's
class): the commands raise, they never print a problem and exit themselves.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from covenant.calendar import Date
from covenant.cli.authoring import (
    compile_command,
    explain_command,
    lint_command,
    new_command,
    schema_command,
    test_command,
    vocabulary_command,
)
from covenant.cli.exits import EXIT_FOUND, Monitor, debug_option
from covenant.cli.importing import import_group
from covenant.cli.options import (
    as_of_option,
    color_option,
    fail_on_option,
    include_root_option,
    jobs_option,
    output_option,
    portfolio_option,
    progress_option,
    rules_option,
    scheduler_option,
    since_option,
    skip_invalid_option,
)
from covenant.cli.output import emit, refuse_input_as_output, write_atomically
from covenant.cli.portfolio import portfolio, run_portfolio
from covenant.cli.reports import evaluate, show_progress, terminal_width, upcoming
from covenant.diagnostics import printable
from covenant.law.obligations import Status
from covenant.report.changes import diff, load_previous
from covenant.report.render.formats import FORMATS, context_from, render


@click.group(cls=Monitor, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="covenant-monitor")
@debug_option
def main() -> None:
    """Covenant monitor: which promises of a financing agreement were broken, when, and what it costs."""


@main.command()
@click.argument("facts", nargs=-1, required=True, type=click.Path(path_type=Path))
@rules_option
@portfolio_option("A portfolio file of agreements (instead of --rules): every agreement is reported.")
@jobs_option("With --portfolio: worker processes.")
@include_root_option
@scheduler_option("With --portfolio: a Dask scheduler address (tcp://host:8786) to evaluate on.")
@as_of_option()
@click.option("--format", "output_format", type=click.Choice(FORMATS), default="text", show_default=True)
@output_option
@fail_on_option
@skip_invalid_option
@color_option
@since_option("An earlier JSON report: add what changed since it (a 'changes' key in JSON, a section in text).")
@progress_option
@click.option(
    "--coverage",
    "show_coverage",
    is_flag=True,
    help="On standard error: rules, triggers and met_by alternatives no fact exercised.",
)
@click.option(
    "--all",
    "show_all",
    is_flag=True,
    help="Text format: list every obligation with its status, fulfilled ones too.",
)
def check(
    facts: tuple[Path, ...],
    rules_dir: Path | None,
    portfolio_file: Path | None,
    jobs: int,
    include_roots: tuple[Path, ...],
    scheduler: str | None,
    as_of: Date | None,
    output_format: str,
    output: Path | None,
    fail_on: str,
    skip_invalid: bool,
    color: bool | None,
    since: Path | None,
    show: bool | None,
    show_coverage: bool,
    show_all: bool,
) -> None:
    """Evaluate fact logs FACTS... against the rules and report every obligation.

    Formats: text (terminal), json (report.md), markdown, html (one
    self-contained file with a timeline), csv (one row per obligation).
    """
    if (rules_dir is None) == (portfolio_file is None):
        raise click.UsageError("give either --rules DIR (one agreement) or --portfolio FILE (many)")
    if portfolio_file is not None:
        sys.exit(
            run_portfolio(
                portfolio_file,
                facts,
                as_of=as_of,
                output_format=output_format,
                output=output,
                jobs=jobs,
                scheduler=scheduler,
                lenient=skip_invalid,
                color=color,
                fail_on=fail_on,
                include_roots=include_roots,
                since=since,
                show_progress=show_progress(show),
            )
        )
    if jobs != 1 or scheduler is not None:
        raise click.UsageError("--jobs and --scheduler go with --portfolio")
    if include_roots:
        raise click.UsageError("--include-root goes with --portfolio")
    assert rules_dir is not None
    refuse_input_as_output(output, [*facts, rules_dir, since])
    checked = evaluate(facts, rules_dir, as_of, lenient=skip_invalid, with_progress=show_progress(show))
    report = checked.report
    for line in report.get("skipped", []):
        click.echo(f"skipped: {line}", err=True)
    if since is not None:
        report["changes"] = diff(load_previous(since), report, source=str(since))
    use_color = sys.stdout.isatty() if color is None and output is None else bool(color)
    width = terminal_width() if output is None else 120
    context = context_from(checked, color=use_color and output_format == "text", width=width, every_obligation=show_all)
    text = render(report, output_format, context)
    if output is not None:
        write_atomically(output, text)
    else:
        emit(text, color=context.color or None)  # click strips ANSI off a pipe unless told
    if show_coverage:
        from covenant.report.coverage import compute_coverage, render_coverage

        fired = checked.state.fired if checked.state is not None else set()
        for line in render_coverage(compute_coverage([fired], checked.form), checked.form):
            click.echo(printable(line), err=True)
    if fail_on == "breach" and any(o["status"] == Status.BREACHED for o in report["obligations"]):
        sys.exit(EXIT_FOUND)


main.add_command(upcoming)
main.add_command(portfolio)
main.add_command(lint_command)
main.add_command(test_command)
main.add_command(explain_command)
main.add_command(schema_command)
main.add_command(vocabulary_command)
main.add_command(compile_command)
main.add_command(new_command)
main.add_command(import_group)


if __name__ == "__main__":  # pragma: no cover
    main()
