/** The environment for numpy peers: OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset, so OpenBLAS picks its best kernel. */
export function numpyEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  return env;
}
