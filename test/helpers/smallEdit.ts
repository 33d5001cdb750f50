// A small docker+machine config.toml edit (placeholder key values) for the reverse-edit tests.
// In its own file: a test file importing another test file registers that file's tests again.
import type { RunnerMachineEdit } from "../../core/ciServer/configToml/configToml";

export const SMALL_EDIT: RunnerMachineEdit = {
  concurrent: 3,
  executor: "docker+machine",
  machine: {
    IdleCount: 0, IdleTime: 1800, MaxBuilds: 100, MachineDriver: "amazonec2", MachineName: "gitlab-docker-machine-%s",
    MachineOptions: ["amazonec2-access-key=ACCESS_KEY", "amazonec2-secret-key=SECRET_KEY"], autoscaling: [],
  },
};
