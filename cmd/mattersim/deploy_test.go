package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

const deployDir = "../../deploy/kubernetes"

// decodeStrict reads a manifest into a Kubernetes API type the way the
// API server's strict field validation does: an unknown or misspelt
// field, or a duplicate one, is an error.
func decodeStrict(t *testing.T, name string, v any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(deployDir, name))
	require.NoError(t, err)
	require.NoError(t, yaml.UnmarshalStrict(data, v), name)
}

// parseCommandLine parses a container's args with mattersim's own
// command tree, as the binary would: the subcommand must exist, every
// flag must be one it has, and the positional arguments must be accepted.
func parseCommandLine(t *testing.T, args []string) *cobra.Command {
	t.Helper()
	root := newRoot(io.Discard, io.Discard)
	c, rest, err := root.Find(args)
	require.NoError(t, err, "%v", args)
	require.NotEqual(t, root, c, "no subcommand in %v", args)
	require.NoError(t, c.ParseFlags(rest), "%v", args)
	require.NoError(t, c.ValidateArgs(c.Flags().Args()), "%v", args)
	return c
}

func envValue(c corev1.Container, name string) (corev1.EnvVar, bool) {
	for _, e := range c.Env {
		if e.Name == name {
			return e, true
		}
	}
	return corev1.EnvVar{}, false
}

// The Kubernetes manifests decode strictly into the API types, the sweep
// is an Indexed Job with per-index retries whose pods run a shard command
// line that mattersim accepts (--shard auto, the shard count equal to
// completions, the output under the shared volume per index), and the
// merge Job lists exactly those shards.
func TestKubernetesManifests(t *testing.T) {
	var pvc corev1.PersistentVolumeClaim
	decodeStrict(t, "pvc.yaml", &pvc)
	require.Equal(t, "v1", pvc.APIVersion)
	require.Equal(t, "PersistentVolumeClaim", pvc.Kind)
	require.Contains(t, pvc.Spec.AccessModes, corev1.ReadWriteMany, "shard pods on several nodes share the volume")

	var sweepJob, mergeJob batchv1.Job
	decodeStrict(t, "sweep-job.yaml", &sweepJob)
	decodeStrict(t, "merge-job.yaml", &mergeJob)
	for _, j := range []*batchv1.Job{&sweepJob, &mergeJob} {
		require.Equal(t, "batch/v1", j.APIVersion)
		require.Equal(t, "Job", j.Kind)
		require.Equal(t, corev1.RestartPolicyNever, j.Spec.Template.Spec.RestartPolicy)
		require.Len(t, j.Spec.Template.Spec.Containers, 1)
		vols := j.Spec.Template.Spec.Volumes
		require.Len(t, vols, 1)
		require.NotNil(t, vols[0].PersistentVolumeClaim)
		require.Equal(t, pvc.Name, vols[0].PersistentVolumeClaim.ClaimName)
		mounts := j.Spec.Template.Spec.Containers[0].VolumeMounts
		require.Len(t, mounts, 1)
		require.Equal(t, vols[0].Name, mounts[0].Name)
		require.Equal(t, "/out", mounts[0].MountPath)
	}

	// The sweep: Indexed, per-index retries, a failure policy that does
	// not retry bad input.
	s := sweepJob.Spec
	require.NotNil(t, s.CompletionMode)
	require.Equal(t, batchv1.IndexedCompletion, *s.CompletionMode)
	require.NotNil(t, s.Completions)
	require.NotNil(t, s.Parallelism)
	n := int(*s.Completions)
	require.GreaterOrEqual(t, n, 2)
	require.LessOrEqual(t, int(*s.Parallelism), n)
	require.NotNil(t, s.BackoffLimitPerIndex)
	require.Positive(t, *s.BackoffLimitPerIndex)
	require.NotNil(t, s.PodFailurePolicy)
	failIndexOn2 := false
	for _, r := range s.PodFailurePolicy.Rules {
		if r.Action == batchv1.PodFailurePolicyActionFailIndex && r.OnExitCodes != nil {
			require.Equal(t, batchv1.PodFailurePolicyOnExitCodesOpIn, r.OnExitCodes.Operator)
			require.Contains(t, r.OnExitCodes.Values, int32(2))
			require.NotNil(t, r.OnExitCodes.ContainerName)
			require.Equal(t, s.Template.Spec.Containers[0].Name, *r.OnExitCodes.ContainerName)
			failIndexOn2 = true
		}
	}
	require.True(t, failIndexOn2, "exit status 2 (bad input) must fail the index without retries")

	c := s.Template.Spec.Containers[0]
	require.Empty(t, c.Command, "the image's entrypoint is mattersim")
	cmd := parseCommandLine(t, c.Args)
	require.Equal(t, "sweep", cmd.Name())
	f := cmd.Flags()
	shard, err := f.GetString("shard")
	require.NoError(t, err)
	require.Equal(t, "auto", shard)
	out, err := f.GetString("out")
	require.NoError(t, err)
	require.Equal(t, "/out/shard-$("+shardIndexEnv+")", out)
	idx, ok := envValue(c, shardIndexEnv)
	require.True(t, ok, "$(%s) in args expands only for a declared variable", shardIndexEnv)
	require.NotNil(t, idx.ValueFrom)
	require.NotNil(t, idx.ValueFrom.FieldRef)
	require.Equal(t, "metadata.annotations['"+batchv1.JobCompletionIndexAnnotation+"']", idx.ValueFrom.FieldRef.FieldPath)
	shards, err := f.GetInt("shards")
	require.NoError(t, err)
	if shards == 0 {
		ev, ok := envValue(c, shardCountEnv)
		require.True(t, ok, "the shard count: --shards or $%s", shardCountEnv)
		require.Equal(t, fmt.Sprint(n), ev.Value, "$%s must equal completions", shardCountEnv)
	} else {
		require.Equal(t, n, shards, "--shards must equal completions")
	}
	// What --shard auto makes of the pod's environment, for every index.
	for i := range n {
		env := map[string]string{shardIndexEnv: fmt.Sprint(i)}
		if ev, ok := envValue(c, shardCountEnv); ok {
			env[shardCountEnv] = ev.Value
		}
		sh, err := parseShard(shard, shards, func(k string) string { return env[k] })
		require.NoError(t, err)
		require.Equal(t, fmt.Sprintf("%d/%d", i, n), sh.String())
	}

	// The merge: every shard directory, once, in index order.
	mc := mergeJob.Spec.Template.Spec.Containers[0]
	mcmd := parseCommandLine(t, mc.Args)
	require.Equal(t, "merge", mcmd.Name())
	var want []string
	for i := range n {
		want = append(want, fmt.Sprintf("/out/shard-%d", i))
	}
	require.Equal(t, want, mcmd.Flags().Args())
	mout, err := mcmd.Flags().GetString("out")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(mout, "/out/"), mout)
	require.Equal(t, c.Image, mc.Image, "sweep and merge run one mattersim")
}

// A misspelt field fails the strict decoding the test relies on.
func TestKubernetesStrictDecodingCatchesTypos(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(deployDir, "sweep-job.yaml"))
	require.NoError(t, err)
	typo := strings.Replace(string(data), "backoffLimitPerIndex:", "backoffLimitPerIndexx:", 1)
	require.NotEqual(t, string(data), typo)
	var j batchv1.Job
	require.ErrorContains(t, yaml.UnmarshalStrict([]byte(typo), &j), `unknown field "backoffLimitPerIndexx"`)
	bad := strings.Replace(string(data), "- --shard\n", "- --shards-typo\n", 1)
	require.NoError(t, yaml.UnmarshalStrict([]byte(bad), &j))
	root := newRoot(io.Discard, io.Discard)
	c, rest, err := root.Find(j.Spec.Template.Spec.Containers[0].Args)
	require.NoError(t, err)
	require.ErrorContains(t, c.ParseFlags(rest), "unknown flag: --shards-typo")
}

// The image builds this module's command with CGO off, on a Go toolchain
// of the version go.mod asks for, and runs it as its entrypoint.
func TestDockerfile(t *testing.T) {
	df, err := os.ReadFile("../../deploy/Dockerfile")
	require.NoError(t, err)
	mod, err := os.ReadFile("../../go.mod")
	require.NoError(t, err)
	goVersion := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(mod)
	require.NotNil(t, goVersion)
	require.Contains(t, string(df), "FROM golang:"+string(goVersion[1])+"-", "the build stage's Go is go.mod's")
	require.Regexp(t, `(?m)^RUN CGO_ENABLED=0 .*go build .* ./cmd/mattersim$`, string(df))
	require.Regexp(t, `(?m)^ENTRYPOINT \["/usr/local/bin/mattersim"\]$`, string(df))
	require.Equal(t, 2, strings.Count(string(df), "\nFROM "), "two stages: build, runtime")
}
