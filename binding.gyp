{
  "targets": [
    {
      "target_name": "tcptop",
      "sources": ["native/addon.cc", "native/bpf_session.cc", "native/poller.cc", "native/net_namespaces.cc"],
      "include_dirs": ["bpf", "<(module_root_dir)/build/bpf"],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-missing-field-initializers"],
      "libraries": ["-lbpf"],
      "actions": [
        {
          "action_name": "bpf_skeleton",
          "inputs": ["bpf/tcptop.bpf.c", "bpf/tcptop.h", "bpf/Makefile"],
          "outputs": ["<(module_root_dir)/build/bpf/tcptop.skel.h"],
          "action": ["make", "-s", "-C", "bpf", "OUTPUT=<(module_root_dir)/build/bpf"]
        }
      ]
    }
  ]
}
