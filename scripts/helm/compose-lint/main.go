// Command compose-lint loads a compose file with compose-go, the loader Docker Compose itself is built on, so a
// file that passes here is one `docker compose config` accepts: schema, interpolation, merge keys, and references
// between services, volumes and network modes. It then checks what the loader does not: that every service a
// dependency waits on to be healthy has a healthcheck, that every pulled image is pinned, and that each Dockerfile
// the file builds parses with BuildKit's own parser, passes its build checks and defines the target asked for.
//
// Usage: compose-lint COMPOSE_FILE [NORMALISED_OUTPUT]
//
// The normalised project is written as JSON when NORMALISED_OUTPUT ends in .json, as YAML otherwise.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

func main() {
	if len(os.Args) < 2 || len(os.Args) > 3 {
		fmt.Fprintln(os.Stderr, "usage: compose-lint COMPOSE_FILE [NORMALISED_OUTPUT]")
		os.Exit(2)
	}

	project, err := load(os.Args[1])
	if err != nil {
		fmt.Fprintf(os.Stderr, "compose-lint: %s does not load: %v\n", os.Args[1], err)
		os.Exit(1)
	}

	problems := append(unhealthyDependencies(project), unpinnedImages(project)...)
	problems = append(problems, dockerfileProblems(project)...)
	for _, problem := range problems {
		fmt.Fprintf(os.Stderr, "compose-lint: %s\n", problem)
	}
	if len(problems) > 0 {
		os.Exit(1)
	}

	if len(os.Args) == 3 {
		if err := writeNormalised(project, os.Args[2]); err != nil {
			fmt.Fprintf(os.Stderr, "compose-lint: %v\n", err)
			os.Exit(1)
		}
	}
	fmt.Printf("compose-lint: %s is valid (%d services)\n", os.Args[1], len(project.Services))
}

// load interpolates with an empty environment, so the check sees the file's own defaults and not the caller's shell.
func load(file string) (*types.Project, error) {
	absolute, err := filepath.Abs(file)
	if err != nil {
		return nil, err
	}

	options, err := cli.NewProjectOptions(
		[]string{absolute},
		cli.WithWorkingDirectory(filepath.Dir(absolute)),
		cli.WithEnv([]string{}),
		cli.WithConsistency(true),
		cli.WithResolvedPaths(false),
	)
	if err != nil {
		return nil, err
	}
	return options.LoadProject(context.Background())
}

func unhealthyDependencies(project *types.Project) []string {
	var problems []string
	for _, name := range sortedServiceNames(project) {
		for dependency, condition := range project.Services[name].DependsOn {
			if condition.Condition != types.ServiceConditionHealthy {
				continue
			}
			check := project.Services[dependency].HealthCheck
			if check == nil || check.Disable || len(check.Test) == 0 {
				problems = append(problems, fmt.Sprintf("%s waits for %s to be healthy, but %s has no healthcheck", name, dependency, dependency))
			}
		}
	}
	return problems
}

// unpinnedImages lists pulled images without a fixed tag or digest; images this file builds are named freely.
func unpinnedImages(project *types.Project) []string {
	var problems []string
	for _, name := range sortedServiceNames(project) {
		service := project.Services[name]
		if service.Build != nil || service.Image == "" {
			continue
		}
		if !isPinned(service.Image) {
			problems = append(problems, fmt.Sprintf("%s uses %q: pin a tag other than latest, or a digest", name, service.Image))
		}
	}
	return problems
}

func isPinned(image string) bool {
	if strings.Contains(image, "@sha256:") {
		return true
	}
	lastPart := image[strings.LastIndex(image, "/")+1:]
	colon := strings.LastIndex(lastPart, ":")
	return colon >= 0 && lastPart[colon+1:] != "latest"
}

// dockerfileProblems parses each Dockerfile once and checks every service's build target against its stages.
func dockerfileProblems(project *types.Project) []string {
	var problems []string
	stagesByFile := map[string][]string{}
	for _, name := range sortedServiceNames(project) {
		build := project.Services[name].Build
		if build == nil {
			continue
		}

		path := dockerfilePath(project, build)
		stages, parsed := stagesByFile[path]
		if !parsed {
			var fileProblems []string
			stages, fileProblems = parseDockerfile(path)
			stagesByFile[path] = stages
			problems = append(problems, fileProblems...)
		}
		if build.Target != "" && !slices.Contains(stages, build.Target) {
			problems = append(problems, fmt.Sprintf("%s builds the target %q, which %s does not define", name, build.Target, path))
		}
	}
	return problems
}

func dockerfilePath(project *types.Project, build *types.BuildConfig) string {
	context := build.Context
	if !filepath.IsAbs(context) {
		context = filepath.Join(project.WorkingDir, context)
	}
	dockerfile := build.Dockerfile
	if dockerfile == "" {
		dockerfile = "Dockerfile"
	}
	if filepath.IsAbs(dockerfile) {
		return dockerfile
	}
	return filepath.Join(context, dockerfile)
}

// parseDockerfile returns the stage names, and the parser's warnings and BuildKit's build-check findings as problems.
func parseDockerfile(path string) ([]string, []string) {
	file, err := os.Open(path)
	if err != nil {
		return nil, []string{err.Error()}
	}
	defer file.Close()

	result, err := parser.Parse(file)
	if err != nil {
		return nil, []string{fmt.Sprintf("%s does not parse: %v", path, err)}
	}

	var problems []string
	report := func(line int, message string) {
		problems = append(problems, fmt.Sprintf("%s:%d: %s", path, line, message))
	}
	for _, warning := range result.Warnings {
		line := 0
		if warning.Location != nil {
			line = warning.Location.Start.Line
		}
		report(line, warning.Short)
	}
	checks := linter.New(&linter.Config{Warn: func(rule, _, _, message string, location []parser.Range) {
		line := 0
		if len(location) > 0 {
			line = location[0].Start.Line
		}
		report(line, fmt.Sprintf("%s (%s)", message, rule))
	}})

	stages, _, err := instructions.Parse(result.AST, checks)
	if err != nil {
		return nil, append(problems, fmt.Sprintf("%s has an invalid instruction: %v", path, err))
	}
	names := make([]string, 0, len(stages))
	for _, stage := range stages {
		for _, command := range stage.Commands {
			if copy, ok := command.(*instructions.CopyCommand); ok && !isStageOrImage(copy.From, names) {
				report(copy.Location()[0].Start.Line, fmt.Sprintf("COPY --from=%s names no earlier stage", copy.From))
			}
		}
		names = append(names, stage.Name)
	}
	return names, problems
}

// isStageOrImage accepts an earlier stage's name or an image reference with a registry, tag or digest. A bare word
// that is no stage would be pulled as an image at build time: almost always a misspelt stage name.
func isStageOrImage(from string, earlierStages []string) bool {
	return from == "" || slices.Contains(earlierStages, strings.ToLower(from)) || strings.ContainsAny(from, ":/@")
}

func writeNormalised(project *types.Project, out string) error {
	marshal := func() ([]byte, error) { return project.MarshalYAML() }
	if strings.HasSuffix(out, ".json") {
		marshal = func() ([]byte, error) { return project.MarshalJSON() }
	}
	normalised, err := marshal()
	if err != nil {
		return fmt.Errorf("cannot print the loaded project: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	return os.WriteFile(out, normalised, 0o644)
}

func sortedServiceNames(project *types.Project) []string {
	names := make([]string, 0, len(project.Services))
	for name := range project.Services {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}
