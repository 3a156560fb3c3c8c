// The test page's bundle: Uppy 5 core, @uppy/aws-s3 and Golden Retriever, handed to the shared harness.
import Uppy from '@uppy/core'
import AwsS3 from '@uppy/aws-s3'
import GoldenRetriever from '@uppy/golden-retriever'
import { install } from '../../web/uppy_harness.js'

install({ Uppy, AwsS3, GoldenRetriever, major: 5 })
