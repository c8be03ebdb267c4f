/* The insides of mgmt/tls.h, shared by tls_conf.c and tls_pump.c. */
#ifndef CH_TLS_INT_H
#define CH_TLS_INT_H

#include "mgmt/tls.h"

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

struct ch_tls_conf
{
  enum ch_tls_role role;
  mbedtls_ssl_config ssl;
  mbedtls_x509_crt ca, cert;
  mbedtls_pk_context key;
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;
  char *ca_desc; /* "--ca FILE", for a peer whose chain does not verify */
};

#endif
