{
  # Built by scripts/build-native.mjs (npm install / npm run build:native).
  # Results must match the TypeScript twins bit for bit, so floating point stays strict:
  # no -ffast-math and no FMA contraction. -march=x86-64-v2 (SSE4.2, POPCNT) rather than native:
  # the binary may be copied to other machines.
  'targets': [
    {
      'target_name': 'vidkompy_kernels',
      'sources': ['src/addon.cc', 'src/distances.cc', 'src/isa_baseline.cc', 'src/isa_avx2.cc', 'src/paths.cc', 'src/pool.cc', 'src/smooth.cc', 'src/ncc.cc', 'src/shift.cc', 'src/warp.cc', 'src/resize.cc', 'src/fft.cc', 'src/cut.cc'],
      'include_dirs': ["<!(node -p \"require('node-addon-api').include_dir\")"],
      'defines': ['NAPI_VERSION=8', 'NAPI_CPP_EXCEPTIONS'],
      'cflags!': ['-fno-exceptions'],
      'cflags_cc!': ['-fno-exceptions', '-std=gnu++17'],
      'cflags_cc': ['-O3', '-std=c++17', '-fexceptions', '-ffp-contract=off', '-pthread'],
      'ldflags': ['-pthread'],
      'conditions': [
        ["target_arch=='x64' and OS!='win'", {
          'cflags_cc': ['-march=x86-64-v2'],
        }],
        ["OS=='mac'", {
          'xcode_settings': {
            'GCC_ENABLE_CPP_EXCEPTIONS': 'YES',
            'CLANG_CXX_LANGUAGE_STANDARD': 'c++17',
            'OTHER_CPLUSPLUSFLAGS': ['-O3', '-ffp-contract=off'],
          },
        }],
        ["OS=='win'", {
          'defines': ['_HAS_EXCEPTIONS=1'],
          'msvs_settings': {
            'VCCLCompilerTool': { 'ExceptionHandling': 1, 'AdditionalOptions': ['/O2', '/fp:precise'] },
          },
        }],
      ],
    },
  ],
}
