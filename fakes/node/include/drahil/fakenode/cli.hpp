// File: cli.hpp
//
// The fakenode subcommands (create, list, inject, clear), shared by the
// stand-alone drahil-fakenode tool and `drahil fakenode`.
//
// Exit codes written to *exit_code: 0 ok, 2 usage or profile error (bad
// input), 3 internal error (file system). Output goes to stdout, errors to
// stderr. The callbacks never throw.
#ifndef DRAHIL_FAKENODE_CLI_HPP_INCLUDED
#define DRAHIL_FAKENODE_CLI_HPP_INCLUDED

#include <CLI/CLI.hpp>

namespace drahil::fakenode {

// AddSubcommands(): adds create/list/inject/clear to app. exit_code must
// outlive app.
void AddSubcommands(CLI::App& app, int* exit_code);

}  // namespace drahil::fakenode

#endif  // DRAHIL_FAKENODE_CLI_HPP_INCLUDED
